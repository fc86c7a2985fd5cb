/** Injection tokens of the typed clients GrpcClientModule provides. */
import { type Stub, toServiceDescriptor } from '../protocol/stub.js';

/** The token of the shared client defaults set by `GrpcClientModule.forRoot`. */
export const GRPC_CLIENT_DEFAULTS = 'nestjs-grpc-transport:client-defaults';

/** The token of a typed client: by its registration name, or by the full name of its stub's service. */
export function grpcClientToken(stubOrName: Stub | string): string {
  const name = typeof stubOrName === 'string' ? stubOrName : toServiceDescriptor(stubOrName).name;
  return `nestjs-grpc-transport:client:${name}`;
}
