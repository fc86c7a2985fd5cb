/** `@GrpcCtx()`, the parameter decorator that injects the call's GrpcContext. */
import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { GrpcContext } from '../server/grpc-context.js';

/**
 * Injects the GrpcContext of the call (metadata, deadline, signal, status controls) into a
 * `@GrpcMethod` handler parameter. A custom parameter, so validation pipes leave it alone.
 * Handlers without any parameter decorators get the request first and the context second
 * anyway; use this (or Nest's `@Ctx()`) when decorating other parameters.
 */
export const GrpcCtx: () => ParameterDecorator = createParamDecorator(
  (_data: unknown, context: ExecutionContext): GrpcContext => context.switchToRpc().getContext<GrpcContext>(),
);
