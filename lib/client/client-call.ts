/**
 * One outgoing call: runs the interceptors once around all of its attempts, applies the
 * service config of its method, retries failed attempts as its retry policy allows (gRFC A6),
 * enforces the deadline across every attempt and cancels with RST_STREAM(CANCEL).
 */
import { isObservable } from 'rxjs';
import type { Encoding } from '../protocol/compression.js';
import { GrpcError } from '../protocol/grpc-error.js';
import { type CallStatus, requestHeaders } from '../protocol/headers.js';
import { Metadata } from '../protocol/metadata.js';
import { Status } from '../protocol/status.js';
import type { MethodDescriptor } from '../protocol/stub.js';
import { DeadlineTimer } from '../transport/deadline.js';
import { MessageSource } from '../transport/message-source.js';
import { MessageWriter } from '../transport/message-writer.js';
import type { StreamResult } from '../transport/value-pump.js';
import { type AttemptHost, type AttemptOutcome, CallAttempt, statusOf } from './call-attempt.js';
import type { Channel } from './channel.js';
import type { CallInfo, CallOptions, Interceptor } from './client-options.js';
import { RequestReplay, type RetryBufferPool } from './request-replay.js';
import { RetryBackoff, waitBeforeRetry } from './retry-policy.js';
import type { RetryThrottle } from './retry-throttle.js';
import type { MethodConfig, ParsedServiceConfig } from './service-config.js';
import { subscribeNow } from './subscribe-now.js';

/** Client-wide settings a call needs. */
export interface ClientCallSettings {
  channel: Channel;
  compression: Encoding;
  maxSendMessageSize: number;
  maxReceiveMessageSize: number;
  userAgent: string | undefined;
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

/** The header that tells the server how many attempts of this call came before (gRFC A6). */
const PREVIOUS_ATTEMPTS_HEADER = 'grpc-previous-rpc-attempts';

const NO_METHOD_CONFIG: MethodConfig = Object.freeze({});

/** The earliest of a call's `timeout`, its `deadline` and the method config's deadline, as `Date.now()` milliseconds. */
function deadlineOf(options: CallOptions, configDeadline: number | undefined): number | undefined {
  const candidates: number[] = configDeadline === undefined ? [] : [configDeadline];
  if (options.timeout !== undefined) candidates.push(Date.now() + options.timeout);
  if (options.deadline !== undefined) candidates.push(options.deadline instanceof Date ? options.deadline.getTime() : options.deadline);
  return candidates.length === 0 ? undefined : Math.min(...candidates);
}

/** The lower of a client limit (-1: none) and a method config's limit (undefined: none). */
function lowerLimit(client: number, config: number | undefined): number {
  if (config === undefined) return client;
  return client < 0 ? config : Math.min(client, config);
}

/** The error a failed status stands for. */
export function errorOf(status: CallStatus): GrpcError {
  return new GrpcError(status.code, status.message, status.details, status.metadata);
}

/** Why a call's signal aborts when the call ended OK: nothing failed, its listeners just stop. */
const CALL_ENDED = new GrpcError(Status.CANCELLED, 'The call has ended');

const unchanged = (bytes: Uint8Array) => bytes;

/**
 * A call in flight. It starts at construction. `status` always resolves (never rejects);
 * `headers` resolves with the initial metadata (empty when the server sent none);
 * `responses` carries the messages of a response-streaming call, `response` the one message
 * of a unary-response call. Nothing of a failed attempt reaches the caller: an attempt that
 * received response headers is the last one.
 */
export class ClientCall<Req, Res> {
  /** The response messages (response-streaming methods). Unsubscribing or breaking out of iteration cancels the call. */
  readonly responses: MessageSource<Res>;
  /** Initial metadata, once the response headers arrive (empty if the call ends without them). */
  readonly headers: Promise<Metadata>;
  /** The final status, with the trailing metadata. */
  readonly status: Promise<CallStatus>;
  private resolveHeaders!: (metadata: Metadata) => void;
  private resolveStatus!: (status: CallStatus) => void;
  private readonly abort = new AbortController();
  private readonly config: MethodConfig;
  private readonly configDeadline: number | undefined;
  private readonly replay: RequestReplay<Req>;
  private readonly host: AttemptHost<Res>;
  private deadline: DeadlineTimer | undefined;
  private current: CallAttempt<Res> | undefined;
  private localError: GrpcError | undefined;
  private single: { value: Res } | undefined;
  private committed = false;
  private done = false;

  constructor(
    private readonly settings: ClientCallSettings,
    readonly method: MethodDescriptor<Req, Res>,
    options: CallOptions,
    request: Req | RequestStream<Req>,
  ) {
    this.headers = new Promise((resolve) => (this.resolveHeaders = resolve));
    this.status = new Promise((resolve) => (this.resolveStatus = resolve));
    this.responses = new MessageSource<Res>({
      pause: () => this.current?.stream.pause(),
      resume: () => this.current?.stream.resume(),
      release: () => this.cancel(),
    });
    this.config = settings.serviceConfig?.methodConfig(method.path) ?? NO_METHOD_CONFIG;
    this.configDeadline = this.config.timeoutMs === undefined ? undefined : Date.now() + this.config.timeoutMs;
    const deadlineAt = deadlineOf(options, this.configDeadline);
    this.armDeadline(deadlineAt);
    const signal = options.signal;
    if (signal !== undefined) {
      if (signal.aborted) this.cancel();
      else signal.addEventListener('abort', () => this.cancel(), { once: true });
    }
    this.host = this.attemptHost();
    const metadata = options.metadata instanceof Metadata ? options.metadata.clone() : new Metadata(options.metadata);
    // A request Observable is subscribed now: a hot one would otherwise emit into the void while the call connects.
    const requests = method.requestStream && isObservable(request) ? subscribeNow(request, this.abort.signal) : request;
    this.replay = new RequestReplay<Req>(
      method.requestStream ? { kind: 'stream', source: requests as RequestStream<Req> } : { kind: 'one', value: requests as Req },
      {
        serialize: method.serializeRequest,
        maxMessageSize: lowerLimit(settings.maxSendMessageSize, this.config.maxRequestMessageBytes),
        perCallLimit: settings.retryBufferBytesPerCall,
        pool: settings.retryBuffer,
        signal: this.abort.signal,
        fail: (error) => this.terminate(error),
        overflow: () => (this.committed = true),
      },
    );
    void this.run({ method, metadata, options }, deadlineAt);
  }

  /** The one response of a unary-response call; rejects with a GrpcError for any other status. */
  get response(): Promise<Res> {
    return this.status.then((status) => {
      if (status.code !== Status.OK) throw errorOf(status);
      return (this.single as { value: Res }).value;
    });
  }

  /** Cancels the call: the server sees RST_STREAM(CANCEL); the status becomes CANCELLED, at once even during a retry's backoff. Idempotent; no effect once the call ended. */
  cancel(message = 'Cancelled by the client'): void {
    this.terminate(new GrpcError(Status.CANCELLED, message));
  }

  private terminate(error: GrpcError): void {
    if (this.done || this.localError !== undefined) return;
    this.localError = error;
    this.abort.abort(error);
    this.current?.fail(error);
  }

  /** (Re)starts the deadline timer for `at`; undefined means no deadline. */
  private armDeadline(at: number | undefined): void {
    this.deadline?.cancel();
    this.deadline = at === undefined ? undefined : new DeadlineTimer(at, () => this.terminate(new GrpcError(Status.DEADLINE_EXCEEDED, 'Deadline exceeded')));
  }

  private attemptHost(): AttemptHost<Res> {
    const call = this;
    return {
      method: this.method,
      maxReceiveMessageSize: lowerLimit(this.settings.maxReceiveMessageSize, this.config.maxResponseMessageBytes),
      get callError() {
        return call.localError;
      },
      onHeaders: (metadata) => {
        this.committed = true;
        this.replay.commit();
        this.resolveHeaders(metadata);
      },
      onMessage: (value) => {
        if (this.method.responseStream) this.responses.push(value);
        else this.single = { value };
      },
    };
  }

  private async run(info: CallInfo, deadlineAt: number | undefined): Promise<void> {
    const { timeout, deadline } = info.options;
    const invoke = async (finalInfo: CallInfo): Promise<CallStatus> => {
      // An interceptor that changed timeout or deadline sets a new deadline, counted from now.
      if (finalInfo.options.timeout !== timeout || finalInfo.options.deadline !== deadline) {
        deadlineAt = deadlineOf(finalInfo.options, this.configDeadline);
        this.armDeadline(deadlineAt);
        if (this.localError !== undefined) return statusOf(this.localError);
      }
      return this.runAttempts(finalInfo, deadlineAt);
    };
    const chain = this.settings.interceptors.reduceRight<(info: CallInfo) => Promise<CallStatus>>(
      (next, interceptor) => (current) => interceptor(current, next),
      invoke,
    );
    let status: CallStatus;
    try {
      status = await chain(info);
    } catch (error) {
      status = statusOf(error);
    }
    this.finish(status);
  }

  /**
   * Attempts until one ends the call. A stream the server never saw is sent again at once, once
   * per call, if its requests are all still kept. Otherwise a failed attempt is retried when the
   * method has a retry policy, the call is not committed, the status is retryable, attempts
   * remain, the server's pushback allows it and the throttle has tokens.
   */
  private async runAttempts(info: CallInfo, deadlineAt: number | undefined): Promise<CallStatus> {
    const policy = this.settings.retries ? this.config.retryPolicy : undefined;
    const backoff = policy === undefined ? undefined : new RetryBackoff(policy);
    const throttle = this.settings.throttle;
    let attempts = 0;
    let transparentRetried = false;
    for (;;) {
      const outcome = await this.attempt(info, deadlineAt, attempts);
      if (this.localError !== undefined) return statusOf(this.localError);
      if (outcome.unseen && !transparentRetried && this.replay.replayable) {
        transparentRetried = true;
        continue;
      }
      attempts++;
      const { status, pushback } = outcome;
      if (status.code === Status.OK) {
        throttle?.succeeded();
        return status;
      }
      if (policy === undefined || backoff === undefined || this.committed || !policy.retryableStatusCodes.has(status.code)) return status;
      throttle?.failed();
      const allowed = pushback !== 'stop' && attempts < policy.maxAttempts && (throttle?.allowsRetry ?? true) && this.replay.replayable;
      if (!allowed || !(await waitBeforeRetry(backoff.nextDelayMs(pushback), this.abort.signal))) return this.localError === undefined ? status : statusOf(this.localError);
    }
  }

  /** Runs one attempt: opens a stream, sends the requests (again, for a retry) and waits for it to close. */
  private async attempt(info: CallInfo, deadlineAt: number | undefined, previousAttempts: number): Promise<AttemptOutcome> {
    const encoding = info.options.compression ?? this.settings.compression;
    let stream;
    try {
      stream = await this.settings.channel.openStream(
        (subchannel) => {
          const block = requestHeaders({
            path: this.method.path,
            authority: subchannel.authority,
            scheme: subchannel.scheme,
            timeoutMs: deadlineAt === undefined ? undefined : deadlineAt - Date.now(),
            encoding,
            userAgent: this.settings.userAgent,
            metadata: info.metadata,
          });
          if (previousAttempts > 0) block[PREVIOUS_ATTEMPTS_HEADER] = String(previousAttempts);
          return block;
        },
        { waitForReady: info.options.waitForReady ?? this.config.waitForReady ?? false, signal: this.abort.signal },
      );
    } catch (error) {
      // No stream: no connection could be had (UNAVAILABLE), or the call ended while waiting.
      return { status: statusOf(this.localError ?? error), unseen: false, pushback: undefined };
    }
    const attempt = new CallAttempt(this.host, stream);
    this.current = attempt;
    const writer = new MessageWriter<Uint8Array>(stream, { serialize: unchanged, encoding, maxMessageSize: -1, kind: 'request' });
    this.replay.attach(stream, writer);
    const outcome = await attempt.outcome;
    this.replay.detach();
    return outcome;
  }

  private finish(status: CallStatus): void {
    if (this.done) return;
    this.done = true;
    this.deadline?.cancel();
    this.replay.release();
    // An OK call aborts with a shared reason: building an Error (and its stack) per call is costly.
    if (!this.abort.signal.aborted) this.abort.abort(status.code === Status.OK ? CALL_ENDED : errorOf(status));
    this.resolveHeaders(new Metadata());
    this.resolveStatus(status);
    if (status.code === Status.OK) this.responses.end();
    else this.responses.fail(errorOf(status));
  }
}
