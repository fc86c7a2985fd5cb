/**
 * Identifiers shared by the Nest integration: the transport id that keeps our handlers apart from
 * Nest's own transports, and the metadata keys of the decorators.
 */

/** The `transportId` of GrpcTransport; `@GrpcMethod` handlers are registered for it alone. */
export const GRPC_TRANSPORT = Symbol.for('nestjs-grpc-transport');

/** Metadata on a method function: the RPC name given to `@GrpcMethod`, if any. */
export const GRPC_METHOD_METADATA = 'nestjs-grpc-transport:method';

/** The key, in a handler's pattern extras, of its binding to a service. */
export const GRPC_BINDING_EXTRA = 'nestjsGrpcTransport';

/** The key, in a handler's pattern extras, that marks it as declared by `@GrpcMethod`. */
export const GRPC_METHOD_EXTRA = 'nestjsGrpcTransportMethod';
