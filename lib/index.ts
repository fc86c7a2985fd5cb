/**
 * nestjs-grpc-transport's public API: everything in `./core` (usable without Nest) and the Nest
 * integration. Modules not re-exported are internal.
 */
export * from './core.js';
export { GrpcTransport, type GrpcTransportOptions } from './nest/grpc-transport.js';
export { GrpcImplementing } from './nest/grpc-implementing.js';
export { GrpcMethod } from './nest/grpc-method.js';
export { GrpcCtx } from './nest/grpc-ctx.js';
export { GrpcErrorPassThrough } from './nest/grpc-error-pass-through.js';
export { statusForHttpException } from './nest/nest-error-mapping.js';
export { GRPC_TRANSPORT } from './nest/transport-id.js';
export { GrpcClientModule, type GrpcClientDefaults, type GrpcClientRegistration, type GrpcClientDefaultsAsync } from './nest/grpc-client-module.js';
export { InjectGrpcClient } from './nest/inject-grpc-client.js';
export { grpcClientToken, GRPC_CLIENT_DEFAULTS } from './nest/grpc-client-token.js';
export { GrpcClientProxy, type GrpcClientProxyOptions } from './nest/grpc-client-proxy.js';
export { GrpcHealthService } from './nest/grpc-health-service.js';
export { GrpcHealthModule } from './nest/grpc-health-module.js';
