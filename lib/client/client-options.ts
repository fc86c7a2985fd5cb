/**
 * Options of clients and of single calls, and the interceptor type.
 */
import type { Encoding } from '../protocol/compression.js';
import type { CallStatus } from '../protocol/headers.js';
import type { Metadata, MetadataInit } from '../protocol/metadata.js';
import type { MethodDescriptor } from '../protocol/stub.js';
import type { ServiceConfig } from './service-config.js';

/** TLS settings of a client. Any of them turns TLS on; PEM strings or Buffers. */
export interface ClientCredentials {
  /** CA certificates the server's certificate must chain to (default: Node's trusted roots). */
  ca?: string | Buffer;
  /** Client certificate, for mutual TLS. */
  cert?: string | Buffer;
  /** Client key, for mutual TLS. */
  key?: string | Buffer;
  /** The name the server certificate is checked against (and sent as SNI and `:authority`), instead of the target host. */
  serverNameOverride?: string;
}

/** Reconnection backoff, as gRPC's connection-backoff document describes it. */
export interface BackoffOptions {
  /** First delay after a failed connection attempt (default 1000 ms). */
  initialMs?: number;
  /** Growth factor per failure (default 1.6). */
  multiplier?: number;
  /** Random spread, as a fraction of the delay (default 0.2). */
  jitter?: number;
  /** Longest delay (default 120 000 ms). */
  maxMs?: number;
}

/** Everything a call made through an interceptor chain is about; interceptors may change `metadata` and `options`. */
export interface CallInfo {
  /** The method called: its path, streaming flags and codecs. */
  readonly method: MethodDescriptor;
  /** The request metadata about to be sent; an interceptor may add, change or remove entries before calling `next`. */
  metadata: Metadata;
  /**
   * The call's options (deadline, compression, signal, …) as the caller gave them; an interceptor may
   * replace fields before calling `next`.
   */
  options: CallOptions;
}

/**
 * A client interceptor: called for each call with its info and `next`, which starts the call
 * and resolves with its final status when it ends. It may alter `info.metadata` first (an auth
 * token, possibly fetched asynchronously), observe or replace the status, or throw (a GrpcError
 * ends the call with that status).
 */
export type Interceptor = (info: CallInfo, next: (info: CallInfo) => Promise<CallStatus>) => Promise<CallStatus>;

/**
 * What a call made while serving an incoming gRPC call takes over from it (the incoming call
 * is found through AsyncLocalStorage, so this works in any code the handler awaits).
 */
export interface PropagationOptions {
  /** Inherit the incoming call's deadline when it is earlier than the call's own (default true; it is never extended). */
  deadline?: boolean;
  /** Cancel the call when the incoming call is cancelled or ends abnormally (default true). */
  cancellation?: boolean;
  /** Metadata keys copied from the incoming call unless the call sets them itself (default none), e.g. `x-request-id`, `authorization`. */
  metadata?: string[];
}

/** Options of a client; each has a default. */
export interface GrpcClientOptions {
  /** Compression of request messages (default identity). */
  compression?: Encoding;
  /** Largest request message sent, in bytes (default -1: no limit). */
  maxSendMessageSize?: number;
  /** Largest response message accepted, before and after decompression (default 4 MiB; -1 for none). */
  maxReceiveMessageSize?: number;
  /**
   * Interval of keepalive PINGs on each connection (default: none are sent). A server that
   * answers GOAWAY `too_many_pings` (ours allows one PING per 5 minutes by default) doubles it.
   */
  keepaliveTimeMs?: number;
  /** How long a PING may go unanswered before the connection is considered dead (default 20 000 ms). */
  keepaliveTimeoutMs?: number;
  /** How long a connection attempt may take (default 20 000 ms). */
  connectTimeoutMs?: number;
  /** The `user-agent` header (default `nestjs-grpc-transport/<version>`). */
  userAgent?: string;
  /** Run, in order, around every call: once per call, around all of its attempts when it is retried. */
  interceptors?: Interceptor[];
  /** TLS; plaintext HTTP/2 (h2c) without it. */
  credentials?: ClientCredentials;
  /** Reconnection backoff after failed connection attempts. */
  backoff?: BackoffOptions;
  /**
   * How calls are spread over the addresses of the targets (default `pick_first`):
   * `pick_first` tries the addresses in order and sends every call to the first that connects,
   * moving on when it fails; `round_robin` connects to all and rotates over the Ready ones,
   * skipping a failed one until it reconnects (retried with `backoff` in the background).
   */
  loadBalancingPolicy?: 'pick_first' | 'round_robin';
  /** DNS names are resolved again this often, besides whenever a connection is lost or fails (default 300 000 ms). */
  dnsRefreshIntervalMs?: number;
  /** The least time between two resolutions of a DNS name; earlier requests wait for it (default 30 000 ms, as gRPC's). */
  dnsMinIntervalMs?: number;
  /** What calls made while serving a gRPC call inherit from it; false turns propagation off for this client. */
  propagate?: PropagationOptions | false;
  /**
   * A gRPC service config, as an object or a JSON string (the format of grpc/grpc's
   * `doc/service_config.md`): per-method `timeout`, `waitForReady`, message size limits and
   * `retryPolicy`, client-wide `retryThrottling` and the load-balancing policy (used when the
   * `loadBalancingPolicy` option is not set). Validated when
   * the client is made: an invalid one throws a TypeError naming the field. `hedgingPolicy` is
   * not supported and refused. Default: none (no retries beyond transparent ones).
   */
  serviceConfig?: ServiceConfig | string;
  /** false ignores the service config's retry policies (streams the server never saw are still sent again once). Default true. */
  retries?: boolean;
  /** Bytes of requests all calls of this client may keep for retries together (default 16 MiB); a call that cannot keep more is not retried. */
  retryBufferBytes?: number;
  /** Bytes of requests one call may keep for retries (default 256 KiB); a request stream that sends more is not retried. */
  retryBufferBytesPerCall?: number;
}

/** Options of one call. */
export interface CallOptions {
  /** Time allowed for the call, in ms from now; sent as `grpc-timeout` and enforced locally. */
  timeout?: number;
  /** The call's deadline, as a Date or `Date.now()` milliseconds; the earlier of this and `timeout` applies. */
  deadline?: Date | number;
  /** Request metadata. */
  metadata?: Metadata | MetadataInit;
  /** Compression of this call's request messages (default: the client's). */
  compression?: Encoding;
  /** Aborting it cancels the call. */
  signal?: AbortSignal;
  /** Wait for a connection until the deadline instead of failing UNAVAILABLE at once when none can be made (default false). */
  waitForReady?: boolean;
  /** false: inherit nothing from the incoming call being served, whatever the client's `propagate` says. */
  propagate?: false;
}
