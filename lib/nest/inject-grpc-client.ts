/** `@InjectGrpcClient()`, the constructor-parameter decorator for clients registered with GrpcClientModule.forFeature. */
import { Inject } from '@nestjs/common';
import type { Stub } from '../protocol/stub.js';
import { grpcClientToken } from './grpc-client-token.js';

/**
 * Injects the GrpcClient registered by `GrpcClientModule.forFeature` for this stub (or under this
 * name). Type the parameter as `GrpcClient<typeof Stub>` to get every RPC typed.
 */
export function InjectGrpcClient(stubOrName: Stub | string): PropertyDecorator & ParameterDecorator {
  return Inject(grpcClientToken(stubOrName));
}
