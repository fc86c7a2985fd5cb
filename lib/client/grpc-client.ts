/**
 * `GrpcClient`, the standalone typed client: one method per RPC of its stub, over a channel to
 * one or more targets.
 */
import { Observable } from 'rxjs';
import { DEFAULT_MAX_RECEIVE_MESSAGE_SIZE } from '../protocol/envelope.js';
import { type MethodDescriptor, type Stub, toServiceDescriptor, type ServiceDescriptor } from '../protocol/stub.js';
import type { MessageStream } from '../transport/message-source.js';
import { camelCase } from '../protocol/method-name.js';
import { Channel } from './channel.js';
import { ClientCall, type ClientCallSettings } from './client-call.js';
import type { CallOptions, GrpcClientOptions, PropagationOptions } from './client-options.js';
import { propagate } from './propagation.js';
import { enableCallScope } from '../server/call-scope.js';
import { RequestHeaderBlocks } from './request-headers.js';
import { RetryBufferPool } from './request-replay.js';
import { RetryThrottle } from './retry-throttle.js';
import { parseServiceConfig } from './service-config.js';
import type { CallHandle, RpcCallMethods, RpcMethods } from './client-types.js';

/** Bytes of requests all calls of a client may keep for retries, unless `retryBufferBytes` says otherwise (16 MiB, as gRPC's). */
const DEFAULT_RETRY_BUFFER_BYTES = 16 * 1024 * 1024;

/** Bytes of requests one call may keep for retries, unless `retryBufferBytesPerCall` says otherwise (256 KiB, as gRPC's). */
const DEFAULT_RETRY_BUFFER_BYTES_PER_CALL = 256 * 1024;

/** Member names of the client itself; an RPC with one of these names is reachable only through `client.call`. */
const RESERVED_MEMBERS = new Set(['call', 'close', 'connect', 'service', 'constructor']);

/**
 * The untyped core of GrpcClient. Use the `GrpcClient` constructor, which gives the typed view.
 */
class GrpcClientCore<S extends Stub> {
  /** The service this client calls. */
  readonly service: ServiceDescriptor;
  /** The call-object form of every RPC: headers, trailers, status and `cancel()` for one call. */
  readonly call: RpcCallMethods<S>;
  private readonly channel: Channel;
  private readonly settings: ClientCallSettings;
  private readonly propagation: PropagationOptions | false;

  constructor(target: string | readonly string[], stub: S, options: GrpcClientOptions = {}) {
    this.service = toServiceDescriptor(stub);
    this.propagation = options.propagate ?? {};
    // Propagation reads the incoming call from its scope, which servers keep only once something needs it.
    if (this.propagation !== false) enableCallScope();
    const serviceConfig = options.serviceConfig === undefined ? undefined : parseServiceConfig(options.serviceConfig);
    const backoff = { initialMs: 1000, multiplier: 1.6, jitter: 0.2, maxMs: 120_000, ...options.backoff };
    this.channel = new Channel(typeof target === 'string' ? [target] : target, {
      credentials: options.credentials,
      connectTimeoutMs: options.connectTimeoutMs ?? 20_000,
      keepaliveTimeMs: options.keepaliveTimeMs,
      keepaliveTimeoutMs: options.keepaliveTimeoutMs ?? 20_000,
      backoff,
      loadBalancingPolicy: options.loadBalancingPolicy ?? serviceConfig?.loadBalancingPolicy ?? 'pick_first',
      resolution: { refreshIntervalMs: options.dnsRefreshIntervalMs ?? 300_000, minIntervalMs: options.dnsMinIntervalMs ?? 30_000, backoff },
    });
    this.settings = {
      channel: this.channel,
      compression: options.compression ?? 'identity',
      maxSendMessageSize: options.maxSendMessageSize ?? -1,
      maxReceiveMessageSize: options.maxReceiveMessageSize ?? DEFAULT_MAX_RECEIVE_MESSAGE_SIZE,
      headerBlocks: new RequestHeaderBlocks(options.userAgent),
      interceptors: options.interceptors ?? [],
      serviceConfig,
      retries: options.retries ?? true,
      throttle: serviceConfig?.retryThrottling === undefined ? undefined : new RetryThrottle(serviceConfig.retryThrottling),
      retryBuffer: new RetryBufferPool(options.retryBufferBytes ?? DEFAULT_RETRY_BUFFER_BYTES),
      retryBufferBytesPerCall: options.retryBufferBytesPerCall ?? DEFAULT_RETRY_BUFFER_BYTES_PER_CALL,
    };
    const callForms: Record<string, unknown> = {};
    for (const method of Object.values(this.service.methods)) {
      const invoke = (request: unknown, callOptions?: CallOptions) => this.invoke(method, request, callOptions ?? {});
      const handle = (request: unknown, callOptions?: CallOptions) => this.handle(method, request, callOptions ?? {});
      for (const name of new Set([method.name, camelCase(method.name)])) {
        callForms[name] = handle;
        if (!RESERVED_MEMBERS.has(name)) Object.defineProperty(this, name, { value: invoke, enumerable: true });
      }
    }
    this.call = callForms as RpcCallMethods<S>;
  }

  private start(method: MethodDescriptor, request: unknown, options: CallOptions): ClientCall<unknown, unknown> {
    return new ClientCall(this.settings, method, propagate(options, this.propagation), request);
  }

  /** A call as the plain methods return it: a Promise, or a cold stream that starts a call per subscription or iteration. */
  private invoke(method: MethodDescriptor, request: unknown, options: CallOptions): Promise<unknown> | MessageStream<unknown> {
    if (!method.responseStream) return this.start(method, request, options).response;
    const stream = new Observable<unknown>((subscriber) => {
      const call = this.start(method, request, options);
      const subscription = call.responses.stream.subscribe(subscriber);
      return () => {
        subscription.unsubscribe();
        call.cancel();
      };
    }) as MessageStream<unknown>;
    stream[Symbol.asyncIterator] = () => this.start(method, request, options).responses.stream[Symbol.asyncIterator]();
    return stream;
  }

  private handle(method: MethodDescriptor, request: unknown, options: CallOptions): CallHandle<unknown> {
    const call = this.start(method, request, options);
    const handle = {
      headers: call.headers,
      trailers: call.status.then((status) => status.metadata),
      status: call.status,
      cancel: () => call.cancel(),
    };
    if (method.responseStream) return Object.assign(handle, { responses: call.responses.stream });
    return Object.defineProperty(handle, 'response', { get: () => call.response, enumerable: true });
  }

  /** Connects now instead of at the first call; resolves when a connection is ready, rejects UNAVAILABLE when every target fails. */
  connect(): Promise<void> {
    return this.channel.connect();
  }

  /** Closes every connection; calls in flight end UNAVAILABLE or CANCELLED, later calls fail UNAVAILABLE. Idempotent. */
  close(): void {
    this.channel.close();
  }

  /** `await using client = new GrpcClient(...)` closes it at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }
}

/**
 * A typed gRPC client for the service of `stub`: one method per RPC under its proto name and
 * its camelCase alias (`client.unary_unary(req, { timeout: 500 })` or `client.unaryUnary(...)`).
 * Unary-response RPCs return a Promise; response-streaming RPCs return a cold Observable that
 * is also async-iterable (subscribing starts a call, unsubscribing cancels it). Request-streaming
 * RPCs take an Observable, AsyncIterable or Iterable. `client.call.<rpc>` gives the call object
 * (headers, trailers, status, cancel). Connections are made lazily, to the addresses of one
 * target or several (pooled), each call's chosen by the `loadBalancingPolicy` (default
 * `pick_first`). RPCs named `call`, `close`, `connect` or `service` are reachable only through
 * `client.call`.
 *
 * Besides the RPCs: `service` (the service descriptor), `connect()` (connect now rather than at
 * the first call; rejects UNAVAILABLE when every address fails), `close()` (idempotent: calls in
 * flight end UNAVAILABLE or CANCELLED, later calls fail UNAVAILABLE) and `Symbol.asyncDispose`,
 * so `await using client = new GrpcClient(...)` closes it at the end of the scope; a function
 * that returns a call's Promise from such a scope must `return await` it.
 */
export type GrpcClient<S extends Stub> = GrpcClientCore<S> & RpcMethods<S>;

/** Creates a GrpcClient: `new GrpcClient('localhost:50051', ExampleStub, options?)`. */
export const GrpcClient = GrpcClientCore as unknown as new <S extends Stub>(
  target: string | readonly string[],
  stub: S,
  options?: GrpcClientOptions,
) => GrpcClient<S>;
