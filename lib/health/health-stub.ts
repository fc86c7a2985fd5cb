/** The stub of `grpc.health.v1.Health`, from the proto this package ships. */
import { bundledProtoPath, loadStub } from '../protocol/load-stub.js';
import type { MethodDescriptor, ServiceDescriptor } from '../protocol/stub.js';
import type { HealthCheckRequest, HealthCheckResponse } from './health-service.js';

/** The typed methods of `grpc.health.v1.Health`. */
export type HealthMethods = {
  /** Unary: one service's status now. */
  Check: MethodDescriptor<HealthCheckRequest, HealthCheckResponse, false, false>;
  /** Server streaming: the status now, then each change. */
  Watch: MethodDescriptor<HealthCheckRequest, HealthCheckResponse, false, true>;
};

let stub: ServiceDescriptor<HealthMethods> | undefined;

/**
 * The `grpc.health.v1.Health` stub (protos/grpc/health/v1/health.proto), read once: a client of
 * any gRPC server's health is `new GrpcClient(address, healthStub())`. Statuses are strings
 * (`'SERVING'`).
 */
export function healthStub(): ServiceDescriptor<HealthMethods> {
  stub ??= loadStub(bundledProtoPath('grpc/health/v1/health.proto'), 'grpc.health.v1.Health') as ServiceDescriptor<HealthMethods>;
  return stub;
}
