/**
 * nestjs-grpc-transport without NestJS: the protocol core, the standalone GrpcServer and
 * GrpcClient, health, reflection, rich errors and code generation. Import
 * `nestjs-grpc-transport/core` to use them without loading any Nest package; the package root
 * re-exports all of this plus the Nest integration.
 */
export { Status, statusName, isStatus, statusFromHttpStatus, statusFromRstCode } from './protocol/status.js';
export { GrpcError, type AnyMessage, encodeRpcStatus, decodeRpcStatus, type RpcStatus } from './protocol/grpc-error.js';
export { Metadata, type MetadataValue, type MetadataInit } from './protocol/metadata.js';
export { type Encoding, SUPPORTED_ENCODINGS } from './protocol/compression.js';
export { DEFAULT_MAX_RECEIVE_MESSAGE_SIZE } from './protocol/envelope.js';
export {
  toServiceDescriptor,
  DEFAULT_CONVERSION,
  type MethodDescriptor,
  type ServiceDescriptor,
  type Stub,
  type MethodsOf,
} from './protocol/stub.js';
export { loadStub, loadStubs, loadProtoRoot, type LoadOptions } from './protocol/load-stub.js';
export { VERSION } from './protocol/version.js';
export {
  GrpcServer,
  type GrpcServerOptions,
  type ServerCredentials,
  type ShutdownOptions,
} from './server/grpc-server.js';
export { type ConnectionOptions, DEFAULT_CONNECTION_LIMITS } from './server/server-connection.js';
export { GrpcContext } from './server/grpc-context.js';
export { type ErrorHandler, UNEXPECTED_ERROR_MESSAGE } from './server/error-mapping.js';
export { type SingleResult } from './server/handler-result.js';
export { type StreamResult } from './transport/value-pump.js';
export { type MessageStream } from './transport/message-source.js';
export { GrpcClient } from './client/grpc-client.js';
export type {
  GrpcClientOptions,
  CallOptions,
  ClientCredentials,
  BackoffOptions,
  Interceptor,
  CallInfo,
} from './client/client-options.js';
export type { CallHandle, UnaryCallHandle, StreamingCallHandle, RpcMethods, RpcCallMethods, CamelCase, DeepPartial } from './client/client-types.js';
export type { RequestStream } from './client/client-call.js';
export type { ServiceConfig, MethodConfigJson, MethodConfigName } from './client/service-config.js';
export type { RetryPolicyConfig } from './client/retry-policy.js';
export type { RetryThrottlingConfig } from './client/retry-throttle.js';
export type { CallStatus } from './protocol/headers.js';
export { currentCallContext, enableCallScope, runInCallScope } from './server/call-scope.js';
export type { PropagationOptions } from './client/client-options.js';
export { stubFromJSON } from './protocol/load-stub.js';
export { generateTypes, type GeneratedFile, type GenerateOptions } from './codegen/generate-types.js';
export { wasCompressed, withoutCompression } from './transport/message-flags.js';
export { packDetail, unpackDetail, unpackDetails, findDetail, TYPE_URL_PREFIX, type DetailInit, type UnpackedDetail } from './protocol/error-details.js';
export type { ErrorDetailTypes, ErrorDetailType, BadRequest, FieldViolation, ErrorInfo, RetryInfo, Duration, DebugInfo, QuotaFailure, QuotaViolation, PreconditionFailure, PreconditionViolation, ResourceInfo, Help, HelpLink, LocalizedMessage, RequestInfo } from './protocol/error-detail-types.js';
export { HealthService, type ServingStatus, type HealthCheckRequest, type HealthCheckResponse } from './health/health-service.js';
export { healthStub, type HealthMethods } from './health/health-stub.js';
export { ReflectionService, type ReflectedServer, type ReflectionRequest, type ReflectionResponse } from './reflection/reflection-service.js';
export { reflectionStub, type ReflectionMethods } from './reflection/reflection-stubs.js';
