/**
 * One outgoing call: opens a stream on the channel, writes the request(s), reads the
 * response(s) and settles with a status, enforcing the deadline locally and cancelling with
 * RST_STREAM(CANCEL).
 */
import http2 from 'node:http2';
import { isObservable } from 'rxjs';
import { type Encoding, parseEncodingHeader } from '../protocol/compression.js';
import { GrpcError } from '../protocol/grpc-error.js';
import { type CallStatus, type ReceivedHeaders, requestHeaders, statusFromTrailers } from '../protocol/headers.js';
import { Metadata } from '../protocol/metadata.js';
import { Status, statusFromHttpStatus, statusFromRstCode } from '../protocol/status.js';
import type { MethodDescriptor } from '../protocol/stub.js';
import { streamValues, type StreamResult } from '../transport/value-pump.js';
import { cancelStream } from '../transport/cancel-stream.js';
import { DeadlineTimer } from '../transport/deadline.js';
import { MessageReader } from '../transport/message-reader.js';
import { MessageSource } from '../transport/message-source.js';
import { MessageWriter } from '../transport/message-writer.js';
import type { Channel } from './channel.js';
import type { CallInfo, CallOptions, Interceptor } from './client-options.js';
import { unseenByServer } from './subchannel.js';
import { subscribeNow } from './subscribe-now.js';

/** Client-wide settings a call needs. */
export interface ClientCallSettings {
  channel: Channel;
  compression: Encoding;
  maxSendMessageSize: number;
  maxReceiveMessageSize: number;
  userAgent: string | undefined;
  interceptors: readonly Interceptor[];
}

/** What a request-streaming call sends: an Observable, an AsyncIterable or an Iterable of messages. */
export type RequestStream<T> = StreamResult<T>;

/** Bytes an Observable of requests may get ahead of the connection before the call fails RESOURCE_EXHAUSTED. */
const MAX_BUFFERED_REQUEST_BYTES = 16 * 1024 * 1024;

const { NGHTTP2_FLAG_END_STREAM, NGHTTP2_NO_ERROR, NGHTTP2_REFUSED_STREAM } = http2.constants;

/** The earliest of a call's `timeout` and `deadline`, as `Date.now()` milliseconds. */
function deadlineOf(options: CallOptions): number | undefined {
  const candidates: number[] = [];
  if (options.timeout !== undefined) candidates.push(Date.now() + options.timeout);
  if (options.deadline !== undefined) candidates.push(options.deadline instanceof Date ? options.deadline.getTime() : options.deadline);
  return candidates.length === 0 ? undefined : Math.min(...candidates);
}

function statusOf(error: unknown): CallStatus {
  const grpcError =
    error instanceof GrpcError ? error : new GrpcError(Status.UNKNOWN, error instanceof Error ? error.message : String(error));
  return { code: grpcError.code, message: grpcError.message, details: grpcError.details, metadata: grpcError.metadata };
}

/** The error a failed status stands for. */
export function errorOf(status: CallStatus): GrpcError {
  return new GrpcError(status.code, status.message, status.details, status.metadata);
}

/** Why a call's signal aborts when the call ended OK: nothing failed, its listeners just stop. */
const CALL_ENDED = new GrpcError(Status.CANCELLED, 'The call has ended');

/** The outcome of one attempt to run the call on a stream. */
type Attempt = { kind: 'status'; status: CallStatus } | { kind: 'refused' };

/**
 * A call in flight. It starts at construction. `status` always resolves (never rejects);
 * `headers` resolves with the initial metadata (empty when the server sent none);
 * `responses` carries the messages of a response-streaming call, `response` the one message
 * of a unary-response call.
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
  private deadline: DeadlineTimer | undefined;
  private stream: http2.ClientHttp2Stream | undefined;
  private localError: GrpcError | undefined;
  private single: { value: Res } | undefined;
  private responseCount = 0;
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
      pause: () => this.stream?.pause(),
      resume: () => this.stream?.resume(),
      release: () => this.cancel(),
    });
    const deadlineAt = deadlineOf(options);
    this.armDeadline(deadlineAt);
    const signal = options.signal;
    if (signal !== undefined) {
      if (signal.aborted) this.cancel();
      else signal.addEventListener('abort', () => this.cancel(), { once: true });
    }
    const metadata = options.metadata instanceof Metadata ? options.metadata.clone() : new Metadata(options.metadata);
    // A request Observable is subscribed now: a hot one would otherwise emit into the void while the call connects.
    const requests = method.requestStream && isObservable(request) ? subscribeNow(request, this.abort.signal) : request;
    void this.run({ method, metadata, options }, requests, deadlineAt);
  }

  /** The one response of a unary-response call; rejects with a GrpcError for any other status. */
  get response(): Promise<Res> {
    return this.status.then((status) => {
      if (status.code !== Status.OK) throw errorOf(status);
      return (this.single as { value: Res }).value;
    });
  }

  /** Cancels the call: the server sees RST_STREAM(CANCEL); the status becomes CANCELLED. Idempotent; no effect once the call ended. */
  cancel(message = 'Cancelled by the client'): void {
    this.terminate(new GrpcError(Status.CANCELLED, message));
  }

  private terminate(error: GrpcError): void {
    if (this.done || this.localError !== undefined) return;
    this.localError = error;
    this.abort.abort(error);
    // RST_STREAM(CANCEL) alone: close(CANCEL) would half-close first, and the server could take
    // the requests sent so far for all of them.
    if (this.stream !== undefined) cancelStream(this.stream);
  }

  /** (Re)starts the deadline timer for `at`; undefined means no deadline. */
  private armDeadline(at: number | undefined): void {
    this.deadline?.cancel();
    this.deadline = at === undefined ? undefined : new DeadlineTimer(at, () => this.terminate(new GrpcError(Status.DEADLINE_EXCEEDED, 'Deadline exceeded')));
  }

  private async run(info: CallInfo, request: Req | RequestStream<Req>, deadlineAt: number | undefined): Promise<void> {
    const { timeout, deadline } = info.options;
    const invoke = async (finalInfo: CallInfo): Promise<CallStatus> => {
      // An interceptor that changed timeout or deadline sets a new deadline, counted from now.
      if (finalInfo.options.timeout !== timeout || finalInfo.options.deadline !== deadline) {
        deadlineAt = deadlineOf(finalInfo.options);
        this.armDeadline(deadlineAt);
        if (this.localError !== undefined) return statusOf(this.localError);
      }
      for (;;) {
        const attempt = await this.attempt(finalInfo, request, deadlineAt);
        if (attempt.kind === 'status') return attempt.status;
      }
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

  /** Runs the call on one stream; a stream the server refused before seeing it is retried, if the request can be sent again. */
  private async attempt(info: CallInfo, request: Req | RequestStream<Req>, deadlineAt: number | undefined): Promise<Attempt> {
    const encoding = info.options.compression ?? this.settings.compression;
    const stream = await this.settings.channel.openStream(
      (subchannel) =>
        requestHeaders({
          path: this.method.path,
          authority: subchannel.authority,
          scheme: subchannel.scheme,
          timeoutMs: deadlineAt === undefined ? undefined : deadlineAt - Date.now(),
          encoding,
          userAgent: this.settings.userAgent,
          metadata: info.metadata,
        }),
      { waitForReady: info.options.waitForReady ?? false, signal: this.abort.signal },
    );
    this.stream = stream;
    // Node detaches a stream from its session once it is destroyed: keep the session to tell a lost connection from a reset.
    const session = stream.session as http2.ClientHttp2Session;
    const closed = this.watch(stream, session);
    this.send(stream, encoding, request);
    const replayable = !this.method.requestStream;
    const outcome = await closed;
    if (outcome === 'refused' && replayable && this.localError === undefined) return { kind: 'refused' };
    return { kind: 'status', status: await this.statusOnClose(stream, session) };
  }

  private send(stream: http2.ClientHttp2Stream, encoding: Encoding, request: Req | RequestStream<Req>): void {
    const writer = new MessageWriter<Req>(stream, {
      serialize: this.method.serializeRequest,
      encoding,
      maxMessageSize: this.settings.maxSendMessageSize,
      kind: 'request',
    });
    if (!this.method.requestStream) {
      try {
        writer.write(request as Req);
      } catch (error) {
        this.terminate(error as GrpcError);
        return;
      }
      // A compressed request is written once compression finishes: end the stream after it, not before.
      writer.flushed().then(
        () => stream.destroyed || stream.end(),
        (error: GrpcError) => this.terminate(error),
      );
      return;
    }
    const sink = {
      write: (value: Req) => writer.write(value),
      get needsDrain() {
        return writer.needsDrain;
      },
      drained: () => writer.drained(),
      checkBuffer: () => {
        if (writer.bufferedBytes > MAX_BUFFERED_REQUEST_BYTES) {
          throw new GrpcError(Status.RESOURCE_EXHAUSTED, `More than ${MAX_BUFFERED_REQUEST_BYTES} bytes of requests are waiting to be sent`);
        }
      },
    };
    streamValues(request as RequestStream<Req>, sink, this.abort.signal)
      .then(() => writer.flushed())
      .then(
        () => stream.destroyed || stream.end(),
        (error: unknown) => {
          if (this.abort.signal.aborted) return;
          this.terminate(error instanceof GrpcError ? error : new GrpcError(Status.CANCELLED, `The request stream failed: ${String((error as Error)?.message ?? error)}`));
        },
      );
  }

  private readerDone: Promise<void> = Promise.resolve();
  private trailerBlock: { headers: ReceivedHeaders; raw: string[] } | undefined;

  /** Wires the stream's events; resolves when it closes, telling whether the server refused it unseen. */
  private watch(stream: http2.ClientHttp2Stream, session: http2.ClientHttp2Session): Promise<'closed' | 'refused'> {
    let sawResponse = false;
    let markReaderDone: () => void = () => undefined;
    this.readerDone = new Promise((resolve) => (markReaderDone = resolve));
    stream.on('error', () => undefined);
    // The server's status ends the call, even while requests are still being sent: stop sending
    // with RST_STREAM(NO_ERROR), or the stream (and the call) would stay open until they end.
    // Response messages already received are still read; requests still buffered would hold the
    // stream open, so it is let go once the last response is read.
    const stopSending = () => {
      if (stream.writableFinished || stream.destroyed) return;
      if (!stream.writableEnded) stream.close(NGHTTP2_NO_ERROR);
      if (stream.readableEnded) stream.destroy();
      else stream.once('end', () => stream.destroy());
    };
    stream.on('response', (headers: ReceivedHeaders, flags: number, raw: string[]) => {
      sawResponse = true;
      const httpStatus = Number(headers[':status']);
      if (headers['grpc-status'] !== undefined && (flags & NGHTTP2_FLAG_END_STREAM) === 0) {
        // Only a header block that ends the stream is Trailers-Only; waiting for it to end anyway
        // would hang the call on a server that sends messages after it.
        this.terminate(new GrpcError(Status.INTERNAL, 'The server sent a grpc-status in response headers that do not end the stream'));
        return;
      }
      if (headers['grpc-status'] !== undefined) {
        // Trailers-only: no messages will follow (an OK one ends a response stream without messages).
        this.trailerBlock = { headers, raw };
        markReaderDone();
        stopSending();
        return;
      }
      if (httpStatus !== 200) {
        this.terminate(new GrpcError(statusFromHttpStatus(httpStatus), `Received HTTP status ${httpStatus}`));
        return;
      }
      const contentType = headers['content-type'];
      if (contentType !== undefined && !/^application\/grpc(?:$|[+;])/i.test(String(contentType))) {
        // Not a gRPC response (a proxy's page, say): HTTP 200 maps to UNKNOWN, as any status outside the table.
        this.terminate(new GrpcError(Status.UNKNOWN, `Received HTTP status 200 with content-type ${JSON.stringify(contentType)}, not a gRPC response`));
        return;
      }
      let encoding: Encoding;
      try {
        encoding = parseEncodingHeader(headers['grpc-encoding'] as string | undefined);
      } catch {
        this.terminate(new GrpcError(Status.INTERNAL, `The server used an unsupported grpc-encoding ${String(headers['grpc-encoding'])}`));
        return;
      }
      this.resolveHeaders(Metadata.fromRawHeaders(raw));
      const reader = new MessageReader<Res>(
        { encoding, maxMessageSize: this.settings.maxReceiveMessageSize, deserialize: this.method.deserializeResponse, kind: 'response' },
        {
          message: (value) => this.accept(value),
          end: markReaderDone,
          error: (error) => {
            this.terminate(error);
            markReaderDone();
          },
        },
      );
      stream.on('data', (chunk: Buffer) => reader.push(chunk));
      stream.on('end', () => reader.end());
    });
    stream.on('trailers', (headers: ReceivedHeaders, _flags: number, raw: string[]) => {
      this.trailerBlock = { headers, raw };
      stopSending();
    });
    return new Promise((resolve) => {
      stream.on('close', () =>
        resolve(!sawResponse && (stream.rstCode === NGHTTP2_REFUSED_STREAM || unseenByServer(session, stream.id)) ? 'refused' : 'closed'),
      );
    });
  }

  private accept(value: Res): void {
    if (this.localError !== undefined) return;
    this.responseCount++;
    if (this.method.responseStream) this.responses.push(value);
    else this.single = { value };
  }

  private async statusOnClose(stream: http2.ClientHttp2Stream, session: http2.ClientHttp2Session): Promise<CallStatus> {
    if (this.localError !== undefined) return statusOf(this.localError);
    if (this.trailerBlock !== undefined) {
      const status = statusFromTrailers(this.trailerBlock.headers, Metadata.fromRawHeaders(this.trailerBlock.raw));
      if (status.code !== Status.OK) return status;
      await this.readerDone;
      if (this.localError !== undefined) return statusOf(this.localError);
      if (!this.method.responseStream && this.responseCount !== 1) {
        return { ...status, code: Status.UNIMPLEMENTED, message: `Expected exactly one response message, received ${this.responseCount}` };
      }
      return status;
    }
    if (session.destroyed) {
      return statusOf(new GrpcError(Status.UNAVAILABLE, 'The connection to the server was lost'));
    }
    const code = stream.rstCode ?? NGHTTP2_NO_ERROR;
    const message =
      code === NGHTTP2_NO_ERROR
        ? 'The server ended the stream without a status'
        : `The server reset the stream (HTTP/2 error code ${code})`;
    return statusOf(new GrpcError(statusFromRstCode(code), message));
  }

  private finish(status: CallStatus): void {
    if (this.done) return;
    this.done = true;
    this.deadline?.cancel();
    // An OK call aborts with a shared reason: building an Error (and its stack) per call is costly.
    if (!this.abort.signal.aborted) this.abort.abort(status.code === Status.OK ? CALL_ENDED : errorOf(status));
    this.resolveHeaders(new Metadata());
    this.resolveStatus(status);
    if (status.code === Status.OK) this.responses.end();
    else this.responses.fail(errorOf(status));
  }
}
