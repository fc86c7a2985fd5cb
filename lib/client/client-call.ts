/**
 * One outgoing call: runs the interceptors once around all of its attempts, applies the
 * service config of its method, retries failed attempts as its retry policy allows (gRFC A6),
 * enforces the deadline across every attempt and cancels with RST_STREAM(CANCEL).
 */
import type http2 from 'node:http2';
import { isObservable } from 'rxjs';
import type { Encoding } from '../protocol/compression.js';
import { GrpcError } from '../protocol/grpc-error.js';
import type { CallStatus, HeaderBlock } from '../protocol/headers.js';
import { Metadata } from '../protocol/metadata.js';
import { Status } from '../protocol/status.js';
import type { MethodDescriptor } from '../protocol/stub.js';
import { CallCancellation } from '../transport/call-cancellation.js';
import { DeadlineTimer } from '../transport/deadline.js';
import type { MessageSource } from '../transport/message-source.js';
import type { StreamResult } from '../transport/value-pump.js';
import { type AttemptHost, type AttemptOutcome, CallAttempt, statusOf } from './call-attempt.js';
import { CallResults } from './call-results.js';
import type { Channel, StreamRequest } from './channel.js';
import { deadlineOf, lowerLimit } from './call-limits.js';
import type { CallInfo, CallOptions, Interceptor } from './client-options.js';
import { runInterceptors } from './interceptor-chain.js';
import { RequestReplay, type RequestOptions, type RequestSender, type RetryBufferPool } from './request-replay.js';
import type { RequestHeaderBlocks } from './request-headers.js';
import { RetryBackoff, type RetryPolicy, waitBeforeRetry } from './retry-policy.js';
import type { RetryThrottle } from './retry-throttle.js';
import type { MethodConfig, ParsedServiceConfig } from './service-config.js';
import type { Subchannel } from './subchannel.js';
import { subscribeNow } from './subscribe-now.js';
import { UnaryRequest } from './unary-request.js';

/** Client-wide settings a call needs. */
export interface ClientCallSettings {
  channel: Channel;
  compression: Encoding;
  maxSendMessageSize: number;
  maxReceiveMessageSize: number;
  /** The request header blocks of the client's calls (they carry its `user-agent`). */
  headerBlocks: RequestHeaderBlocks;
  interceptors: readonly Interceptor[];
  /** The client's service config, if it has one. */
  serviceConfig: ParsedServiceConfig | undefined;
  /** false: retry policies are ignored (transparent retries still happen). */
  retries: boolean;
  /** The client's retry throttling, if its service config sets it. */
  throttle: RetryThrottle | undefined;
  /** The bytes every call of the client may keep for retries. */
  retryBuffer: RetryBufferPool;
  /** The bytes one call may keep for retries. */
  retryBufferBytesPerCall: number;
}

/** What a request-streaming call sends: an Observable, an AsyncIterable or an Iterable of messages. */
export type RequestStream<T> = StreamResult<T>;

const NO_METHOD_CONFIG: MethodConfig = Object.freeze({});

/** Why a call's cancellation aborts when the call has ended: its listeners (a request stream, say) just stop. */
const CALL_ENDED = new GrpcError(Status.CANCELLED, 'The call has ended');

/**
 * A call in flight. It starts at construction. `status` always resolves (never rejects);
 * `headers` resolves with the initial metadata (empty when the server sent none);
 * `responses` carries the messages of a response-streaming call, `response` the one message
 * of a unary-response call. Nothing of a failed attempt reaches the caller: an attempt that
 * received response headers is the last one. The call is its attempts' host and its channel's
 * stream request: it keeps no per-attempt objects besides the attempt itself.
 */
export class ClientCall<Req, Res> implements AttemptHost<Res>, StreamRequest {
  /** The receive limit of its attempts: the lower of the client's and the method config's. */
  readonly maxReceiveMessageSize: number;
  /** Aborted when the call is cancelled, passes its deadline or ends. */
  readonly signal = new CallCancellation();
  /** Whether the current attempts wait for a connection rather than fail UNAVAILABLE. */
  waitForReady = false;
  private readonly results: CallResults<Res>;
  private readonly config: MethodConfig;
  private readonly configDeadline: number | undefined;
  private readonly requests: RequestSender;
  private deadline: DeadlineTimer | undefined;
  private deadlineAt: number | undefined;
  private encoding: Encoding;
  private metadata: Metadata | undefined;
  private policy: RetryPolicy | undefined;
  private backoff: RetryBackoff | undefined;
  private attempts = 0;
  private transparentRetried = false;
  private current: CallAttempt<Res> | undefined;
  private localError: GrpcError | undefined;
  private committed = false;
  private done = false;
  /** Where the attempts' final status goes when interceptors wait for it (else the call finishes with it). */
  private settleAttempts: ((status: CallStatus) => void) | undefined;
  private stopFollowing: (() => void) | undefined;

  constructor(
    private readonly settings: ClientCallSettings,
    readonly method: MethodDescriptor<Req, Res>,
    options: CallOptions,
    request: Req | RequestStream<Req>,
  ) {
    this.encoding = settings.compression;
    this.results = new CallResults<Res>(
      method.responseStream
        ? { pause: () => this.current?.stream.pause(), resume: () => this.current?.stream.resume(), release: () => this.cancel() }
        : undefined,
    );
    this.config = settings.serviceConfig?.methodConfig(method.path) ?? NO_METHOD_CONFIG;
    this.configDeadline = this.config.timeoutMs === undefined ? undefined : Date.now() + this.config.timeoutMs;
    this.maxReceiveMessageSize = lowerLimit(settings.maxReceiveMessageSize, this.config.maxResponseMessageBytes);
    const deadlineAt = deadlineOf(options, this.configDeadline);
    this.armDeadline(deadlineAt);
    this.follow(options.signal);
    const metadata = options.metadata instanceof Metadata ? options.metadata.clone() : options.metadata === undefined ? undefined : new Metadata(options.metadata);
    const requestOptions: RequestOptions<Req> = {
      serialize: method.serializeRequest,
      maxMessageSize: lowerLimit(settings.maxSendMessageSize, this.config.maxRequestMessageBytes),
      perCallLimit: settings.retryBufferBytesPerCall,
      pool: settings.retryBuffer,
      fail: (error) => this.terminate(error),
      overflow: () => (this.committed = true),
    };
    if (method.requestStream) {
      // A request Observable is subscribed now: a hot one would otherwise emit into the void while the call connects.
      const requests = isObservable(request) ? subscribeNow(request, this.signal) : (request as RequestStream<Req>);
      this.requests = new RequestReplay<Req>(requests, { ...requestOptions, signal: this.signal });
    } else {
      this.requests = new UnaryRequest<Req>(request as Req, requestOptions);
    }
    this.run(options, metadata, deadlineAt);
  }

  /** Initial metadata, once the response headers arrive (empty if the call ends without them). */
  get headers(): Promise<Metadata> {
    return this.results.headers;
  }

  /** The final status, with the trailing metadata. */
  get status(): Promise<CallStatus> {
    return this.results.status;
  }

  /** The one response of a unary-response call; rejects with a GrpcError for any other status. */
  get response(): Promise<Res> {
    return this.results.response;
  }

  /** The response messages of a response-streaming call (a TypeError for others). Unsubscribing or breaking out of iteration cancels the call. */
  get responses(): MessageSource<Res> {
    const responses = this.results.responses;
    if (responses === undefined) throw new TypeError(`${this.method.path} does not stream its responses`);
    return responses;
  }

  /** Cancels the call: the server sees RST_STREAM(CANCEL); the status becomes CANCELLED, at once even during a retry's backoff. Idempotent; no effect once the call ended. */
  cancel(message = 'Cancelled by the client'): void {
    this.terminate(new GrpcError(Status.CANCELLED, message));
  }

  /** The error the call ended with locally (cancelled, deadline, a request that could not be sent), if it has. */
  get callError(): GrpcError | undefined {
    return this.localError;
  }

  private terminate(error: GrpcError): void {
    if (this.done || this.localError !== undefined) return;
    this.localError = error;
    this.signal.abort(error);
    this.current?.fail(error);
  }

  /** Cancels the call when the caller's signal aborts (at once if it has), until the call ends. */
  private follow(signal: AbortSignal | undefined): void {
    if (signal === undefined) return;
    if (signal.aborted) return this.cancel();
    const onAbort = () => this.cancel();
    signal.addEventListener('abort', onAbort, { once: true });
    this.stopFollowing = () => signal.removeEventListener('abort', onAbort);
  }

  /** (Re)starts the deadline timer for `at`; undefined means no deadline. */
  private armDeadline(at: number | undefined): void {
    this.deadline?.cancel();
    this.deadline = at === undefined ? undefined : new DeadlineTimer(at, () => this.terminate(new GrpcError(Status.DEADLINE_EXCEEDED, 'Deadline exceeded')));
  }

  /** Runs the attempts, through the interceptors if the client has any. */
  private run(options: CallOptions, metadata: Metadata | undefined, deadlineAt: number | undefined): void {
    const interceptors = this.settings.interceptors;
    if (interceptors.length === 0) return this.startAttempts(options, metadata, deadlineAt);
    const { timeout, deadline } = options;
    const invoke = (info: CallInfo): Promise<CallStatus> => {
      // An interceptor that changed timeout or deadline sets a new deadline, counted from now.
      if (info.options.timeout !== timeout || info.options.deadline !== deadline) {
        deadlineAt = deadlineOf(info.options, this.configDeadline);
        this.armDeadline(deadlineAt);
        if (this.localError !== undefined) return Promise.resolve(statusOf(this.localError));
      }
      return new Promise((resolve) => {
        this.settleAttempts = resolve;
        this.startAttempts(info.options, info.metadata, deadlineAt);
      });
    };
    runInterceptors(interceptors, { method: this.method, metadata: metadata ?? new Metadata(), options }, invoke).then(
      (status) => this.finish(status),
      (error: unknown) => this.finish(statusOf(error)),
    );
  }

  /** Starts the attempts of the call (again, when an interceptor calls `next` again), with the options and metadata the interceptors settled on. */
  private startAttempts(options: CallOptions, metadata: Metadata | undefined, deadlineAt: number | undefined): void {
    this.attempts = 0;
    this.transparentRetried = false;
    this.backoff = undefined;
    this.metadata = metadata;
    this.deadlineAt = deadlineAt;
    this.encoding = options.compression ?? this.settings.compression;
    this.waitForReady = options.waitForReady ?? this.config.waitForReady ?? false;
    this.policy = this.settings.retries ? this.config.retryPolicy : undefined;
    this.settings.channel.openStream(this);
  }

  /** The request headers of the next attempt, on the subchannel the channel chose. */
  requestHeaders(subchannel: Subchannel): Readonly<HeaderBlock> {
    const timeoutMs = this.deadlineAt === undefined ? undefined : this.deadlineAt - Date.now();
    return this.settings.headerBlocks.block(subchannel, this.method.path, this.encoding, { timeoutMs, metadata: this.metadata, previousAttempts: this.attempts });
  }

  /** The attempt's stream is open: it gets the requests (again, for a retry). */
  opened(stream: http2.ClientHttp2Stream): void {
    this.current = new CallAttempt(this, stream);
    this.requests.attach(stream, this.encoding);
  }

  /** No stream could be had: no connection (UNAVAILABLE), or the call ended while waiting. */
  failed(error: unknown): void {
    this.onAttemptEnd({ status: statusOf(this.localError ?? error), unseen: false, pushback: undefined });
  }

  /** Response headers arrived: the call commits to this attempt. */
  onHeaders(rawHeaders: string[]): void {
    this.committed = true;
    this.requests.commit();
    this.results.receivedHeaders(rawHeaders);
  }

  /** A response message of the committed attempt. */
  onMessage(value: Res): void {
    this.results.message(value);
  }

  /**
   * An attempt ended: the call ends too, unless the attempt is tried again. A stream the server
   * never saw is sent again at once, once per call, if its requests are all still kept.
   * Otherwise a failed attempt is retried when the method has a retry policy, the call is not
   * committed, the status is retryable, attempts remain, the server's pushback allows it and
   * the throttle has tokens.
   */
  onAttemptEnd(outcome: AttemptOutcome): void {
    this.requests.detach();
    if (this.localError !== undefined) return this.endAttempts(statusOf(this.localError));
    if (outcome.unseen && !this.transparentRetried && this.requests.replayable) {
      this.transparentRetried = true;
      return this.settings.channel.openStream(this);
    }
    this.attempts++;
    const { status, pushback } = outcome;
    const throttle = this.settings.throttle;
    if (status.code === Status.OK) {
      throttle?.succeeded();
      return this.endAttempts(status);
    }
    const policy = this.policy;
    if (policy === undefined || this.committed || !policy.retryableStatusCodes.has(status.code)) return this.endAttempts(status);
    throttle?.failed();
    const allowed = pushback !== 'stop' && this.attempts < policy.maxAttempts && (throttle?.allowsRetry ?? true) && this.requests.replayable;
    if (!allowed) return this.endAttempts(status);
    this.backoff ??= new RetryBackoff(policy);
    void waitBeforeRetry(this.backoff.nextDelayMs(pushback), this.signal).then((retry) => {
      if (retry) this.settings.channel.openStream(this);
      else this.endAttempts(this.localError === undefined ? status : statusOf(this.localError));
    });
  }

  private endAttempts(status: CallStatus): void {
    const settle = this.settleAttempts;
    this.settleAttempts = undefined;
    if (settle === undefined) this.finish(status);
    else settle(status);
  }

  private finish(status: CallStatus): void {
    if (this.done) return;
    this.done = true;
    this.deadline?.cancel();
    this.stopFollowing?.();
    this.requests.release();
    this.signal.abort(CALL_ENDED);
    this.results.settle(status);
  }
}
