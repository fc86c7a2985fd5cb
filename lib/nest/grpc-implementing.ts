/** `@GrpcImplementing()`, which binds a controller class to the proto service it serves. */
import { UseFilters } from '@nestjs/common';
import { PATTERN_EXTRAS_METADATA, PATTERN_METADATA } from '@nestjs/microservices/constants.js';
import { type Stub, toServiceDescriptor } from '../protocol/stub.js';
import type { GrpcMethodMarker } from './grpc-method.js';
import { GrpcErrorPassThrough } from './grpc-error-pass-through.js';
import { GRPC_BINDING_EXTRA, GRPC_METHOD_METADATA } from './transport-id.js';

/** How a `@GrpcMethod` handler is bound, as GrpcTransport reads it from the pattern extras. */
export interface GrpcBinding {
  /** The stub given to `@GrpcImplementing`, or undefined when it named the service. */
  stub: Stub | undefined;
  /** The service's full name. */
  service: string;
  /** The RPC named in `@GrpcMethod`, or the method's name. */
  rpc: string;
  /** `Controller.method`, for messages. */
  handlerName: string;
}

function methodKeys(prototype: object): string[] {
  const keys = new Set<string>();
  for (let proto = prototype; proto !== Object.prototype && proto !== null; proto = Object.getPrototypeOf(proto)) {
    for (const key of Object.getOwnPropertyNames(proto)) if (key !== 'constructor') keys.add(key);
  }
  return [...keys];
}

/**
 * Declares the service a controller implements: a stub (a grpc-js ServiceDefinition, a
 * protobufjs Service, a ts-proto definition or our ServiceDescriptor) or the service's full
 * name, `'package.Service'`, found in GrpcTransport's `protos`. Its `@GrpcMethod` handlers are
 * bound to that service's RPCs. It also installs a class-level exception filter that hands
 * errors to the transport untouched, so GrpcError, RpcException and HttpException map to their
 * gRPC status; filters on methods, or declared on the class above this decorator, run first,
 * and global filters (`app.useGlobalFilters`, static `APP_FILTER`) are consulted before the
 * error goes to the transport.
 */
export function GrpcImplementing(stub: Stub | string): ClassDecorator {
  return (target) => {
    const service = typeof stub === 'string' ? stub.replace(/^\./, '') : toServiceDescriptor(stub).name;
    const prototype = target.prototype as Record<string, unknown>;
    for (const key of methodKeys(prototype)) {
      const method = prototype[key];
      if (typeof method !== 'function') continue;
      const marker: GrpcMethodMarker | undefined = Reflect.getMetadata(GRPC_METHOD_METADATA, method);
      if (marker === undefined) continue;
      const rpc = marker.rpc ?? key;
      const binding: GrpcBinding = { stub: typeof stub === 'string' ? undefined : stub, service, rpc, handlerName: `${target.name}.${key}` };
      Reflect.defineMetadata(PATTERN_METADATA, [{ service, rpc }], method);
      Reflect.defineMetadata(PATTERN_EXTRAS_METADATA, { ...Reflect.getMetadata(PATTERN_EXTRAS_METADATA, method), [GRPC_BINDING_EXTRA]: binding }, method);
    }
    UseFilters(GrpcErrorPassThrough)(target);
  };
}
