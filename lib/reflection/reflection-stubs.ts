/** The stubs of `grpc.reflection.v1.ServerReflection` and `grpc.reflection.v1alpha.ServerReflection`, from the protos this package ships. */
import { bundledProtoPath, loadStub } from '../protocol/load-stub.js';
import type { MethodDescriptor, ServiceDescriptor } from '../protocol/stub.js';
import type { ReflectionRequest, ReflectionResponse } from './reflection-service.js';

/** The typed method of a ServerReflection service. */
export type ReflectionMethods = {
  /** The one bidi method: a stream of requests, each answered by one response. */
  ServerReflectionInfo: MethodDescriptor<Partial<ReflectionRequest>, ReflectionResponse, true, true>;
};

const stubs: Partial<Record<'v1' | 'v1alpha', ServiceDescriptor<ReflectionMethods>>> = {};

/**
 * The ServerReflection stub of a protocol version (default `v1`), read once from
 * protos/grpc/reflection/<version>/reflection.proto: `new GrpcClient(address, reflectionStub())`
 * is a reflection client of any gRPC server.
 */
export function reflectionStub(version: 'v1' | 'v1alpha' = 'v1'): ServiceDescriptor<ReflectionMethods> {
  stubs[version] ??= loadStub(
    bundledProtoPath(`grpc/reflection/${version}/reflection.proto`),
    `grpc.reflection.${version}.ServerReflection`,
  ) as ServiceDescriptor<ReflectionMethods>;
  return stubs[version];
}
