/**
 * The static types of a GrpcClient built from a stub: one method per RPC under its proto name
 * and its camelCase alias, with request and return types from the stub.
 */
import type { CallStatus } from '../protocol/headers.js';
import type { Metadata } from '../protocol/metadata.js';
import type { MethodDescriptor, MethodsOf } from '../protocol/stub.js';
import type { MessageStream } from '../transport/message-source.js';
import type { CallOptions } from './client-options.js';
import type { RequestStream } from './client-call.js';

/** `unary_unary` → `unaryUnary`, `SayHello` → `sayHello`, at the type level. */
export type CamelCase<S extends string> = S extends `${infer Head}_${infer Tail}`
  ? `${Uncapitalize<Head>}${Capitalize<CamelCase<Tail>>}`
  : Uncapitalize<S>;

/** What a request may leave out: every field, at any depth (proto3 fields are optional on the wire); Buffers and arrays' items stay whole. */
export type DeepPartial<T> = T extends Buffer | Uint8Array | string | number | boolean | bigint | null | undefined
  ? T
  : T extends Array<infer Item>
    ? Array<DeepPartial<Item>>
    : T extends object
      ? { [K in keyof T]?: DeepPartial<T[K]> }
      : T;

type RequestOf<M> = M extends MethodDescriptor<infer Req, any, infer RS, any>
  ? boolean extends RS
    ? any
    : RS extends true
      ? RequestStream<DeepPartial<Req>>
      : DeepPartial<Req>
  : never;

type ResponseOf<M> = M extends MethodDescriptor<any, infer Res, any, any> ? Res : never;

type StreamsResponse<M> = M extends MethodDescriptor<any, any, any, infer SS> ? (boolean extends SS ? 'unknown' : SS) : never;

/** What calling an RPC returns: a Promise of the response, or a cold MessageStream of responses. */
export type CallResult<M> = StreamsResponse<M> extends 'unknown'
  ? any
  : StreamsResponse<M> extends true
    ? MessageStream<ResponseOf<M>>
    : Promise<ResponseOf<M>>;

/** A typed RPC method: `(request, options?) => Promise<Res> | MessageStream<Res>`. */
export type RpcMethod<M> = (request: RequestOf<M>, options?: CallOptions) => CallResult<M>;

/** The call object of the `client.call.<rpc>` form: everything about one call, started at once. */
export interface CallHandle<Res> {
  /** Initial metadata, when the response headers arrive (empty if none came). */
  readonly headers: Promise<Metadata>;
  /** Trailing metadata, when the call ends. */
  readonly trailers: Promise<Metadata>;
  /** The final status (code, message, details, metadata); never rejects. */
  readonly status: Promise<CallStatus>;
  /** Cancels the call (RST_STREAM CANCEL; status CANCELLED). */
  cancel(): void;
}

/** The call object of a unary-response RPC. */
export interface UnaryCallHandle<Res> extends CallHandle<Res> {
  /** The response; rejects with a GrpcError for a non-OK status. */
  readonly response: Promise<Res>;
}

/** The call object of a response-streaming RPC. */
export interface StreamingCallHandle<Res> extends CallHandle<Res> {
  /** The responses, as they arrive; errors with a GrpcError for a non-OK status. */
  readonly responses: MessageStream<Res>;
}

/**
 * A typed RPC method of the call-object form. When the stub does not say statically whether the
 * RPC streams its response (a protobufjs `Service` from `loadStub`), the handle is typed with
 * both `response` and `responses`; only the one matching the RPC exists at run time.
 */
export type RpcCallMethod<M> = (
  request: RequestOf<M>,
  options?: CallOptions,
) => StreamsResponse<M> extends 'unknown'
  ? UnaryCallHandle<ResponseOf<M>> & StreamingCallHandle<ResponseOf<M>>
  : StreamsResponse<M> extends true
    ? StreamingCallHandle<ResponseOf<M>>
    : UnaryCallHandle<ResponseOf<M>>;

type Methods<S> = MethodsOf<S>;

/** One method per RPC, under its proto name and its camelCase alias. */
export type RpcMethods<S> = { [K in keyof Methods<S> & string]: RpcMethod<Methods<S>[K]> } & {
  [K in keyof Methods<S> & string as CamelCase<K>]: RpcMethod<Methods<S>[K]>;
};

/** The call-object form of every RPC (`client.call.unary_unary(...)`). */
export type RpcCallMethods<S> = { [K in keyof Methods<S> & string]: RpcCallMethod<Methods<S>[K]> } & {
  [K in keyof Methods<S> & string as CamelCase<K>]: RpcCallMethod<Methods<S>[K]>;
};
