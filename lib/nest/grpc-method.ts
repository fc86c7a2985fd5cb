/** `@GrpcMethod()`, which binds a controller method to an RPC of the class's `@GrpcImplementing` service. */
import { PARAMTYPES_METADATA, ROUTE_ARGS_METADATA } from '@nestjs/common/constants.js';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { GrpcCtx } from './grpc-ctx.js';
import { observableResult } from './iterable-result.js';
import { GRPC_METHOD_EXTRA, GRPC_METHOD_METADATA, GRPC_TRANSPORT } from './transport-id.js';

/** What `@GrpcMethod` records on the method. */
export interface GrpcMethodMarker {
  /** The RPC name given explicitly, or undefined to use the method's own name. */
  rpc: string | undefined;
}

/** Whether a parameter's design type is an Observable class (rxjs's or a subclass, from any copy of rxjs). */
function isObservableClass(type: unknown): boolean {
  const prototype = (type as { prototype?: { subscribe?: unknown; pipe?: unknown } } | undefined)?.prototype;
  return typeof prototype?.subscribe === 'function' && typeof prototype.pipe === 'function';
}

/**
 * Types request-stream parameters declared as `Observable<T>` as plain objects for Nest's pipes.
 * A pipe cannot validate a stream, and ValidationPipe (even a global one) would otherwise copy it
 * into an empty Observable with class-transformer, leaving the handler waiting forever.
 */
function hideStreamTypes(target: object, key: string | symbol): void {
  const types: unknown[] | undefined = Reflect.getMetadata(PARAMTYPES_METADATA, target, key);
  if (types === undefined || !types.some(isObservableClass)) return;
  Reflect.defineMetadata(PARAMTYPES_METADATA, types.map((type) => (isObservableClass(type) ? Object : type)), target, key);
}

/**
 * The method as Nest calls it: its result passed through {@link observableResult}. Metadata that
 * decorators below `@GrpcMethod` put on the method is carried over, and the name is kept.
 */
function wrapMethod(method: (...args: unknown[]) => unknown): (...args: unknown[]) => unknown {
  const wrapped = function (this: unknown, ...args: unknown[]): unknown {
    return observableResult(method.apply(this, args));
  };
  Object.defineProperty(wrapped, 'name', { value: method.name });
  for (const metadataKey of Reflect.getOwnMetadataKeys(method)) {
    Reflect.defineMetadata(metadataKey, Reflect.getOwnMetadata(metadataKey, method), wrapped);
  }
  return wrapped;
}

function claimedIndexes(target: object, key: string | symbol): Set<number> {
  const args: Record<string, { index: number }> = Reflect.getMetadata(ROUTE_ARGS_METADATA, target.constructor, key) ?? {};
  return new Set(Object.values(args).map((arg) => arg.index));
}

/**
 * Serves an RPC with this method: the one named `rpc`, or by default the RPC whose name is the
 * method's name exactly or its PascalCase form (`sayHello` serves `SayHello`). The call pattern
 * (unary or streaming) comes from the stub. Undecorated parameters 0 and 1 receive the request
 * (or request stream) and the GrpcContext. A request stream typed `Observable<T>` reaches pipes
 * with the metatype `Object`, so ValidationPipe passes it through. An async generator's messages
 * pass one by one through interceptors (a `map` applies to each) when the method has any; without
 * them the transport pulls the generator as the client reads (backpressure), and an error it
 * throws maps by the table of nest-error-mapping.ts without reaching exception filters. Only
 * GrpcTransport sees these handlers.
 */
export function GrpcMethod(rpc?: string): MethodDecorator {
  return (target, key, descriptor) => {
    if (typeof descriptor.value !== 'function') throw new TypeError(`@GrpcMethod() decorates methods; ${String(key)} is not one`);
    descriptor.value = wrapMethod(descriptor.value as (...args: unknown[]) => unknown) as typeof descriptor.value;
    const marker: GrpcMethodMarker = { rpc };
    Reflect.defineMetadata(GRPC_METHOD_METADATA, marker, descriptor.value as object);
    const claimed = claimedIndexes(target, key);
    if (!claimed.has(1)) GrpcCtx()(target, key, 1);
    if (!claimed.has(0)) Payload()(target, key, 0);
    hideStreamTypes(target, key);
    return MessagePattern({ rpc: rpc ?? String(key) }, GRPC_TRANSPORT, { [GRPC_METHOD_EXTRA]: true })(target, key, descriptor);
  };
}
