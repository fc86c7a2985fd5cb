/**
 * One incoming call on the server: reads the request messages, runs the handler, writes the
 * response messages and ends the stream with a status, honouring the deadline, client
 * cancellation and shutdown.
 */
import http2 from 'node:http2';
import { isObservable } from 'rxjs';
import type { PeerCertificate } from 'node:tls';
import type { Encoding } from '../protocol/compression.js';
import { GrpcError } from '../protocol/grpc-error.js';
import { type CallStatus, responseHeaders, trailers, trailersOnly } from '../protocol/headers.js';
import { Metadata } from '../protocol/metadata.js';
import { Status } from '../protocol/status.js';
import type { MethodDescriptor } from '../protocol/stub.js';
import { clampTimerDelay } from '../protocol/timeout.js';
import { CallCancellation } from '../transport/call-cancellation.js';
import { DeadlineTimer } from '../transport/deadline.js';
import { MessageReader, type MessageSink } from '../transport/message-reader.js';
import { MessageSource } from '../transport/message-source.js';
import { MessageWriter } from '../transport/message-writer.js';
import { runInCallScope } from './call-scope.js';
import { type ErrorMapper, UNEXPECTED_ERROR_MESSAGE } from './error-mapping.js';
import { type CallControl, GrpcContext } from './grpc-context.js';
import { streamValues, type ValueSink } from '../transport/value-pump.js';
import { singleValue } from './handler-result.js';

/** A handler as the server calls it: the request (or the request stream) and the context. */
export type CallHandler = (request: any, context: GrpcContext) => unknown;

/** Server-wide settings a call needs. */
export interface CallSettings {
  maxReceiveMessageSize: number;
  maxSendMessageSize: number;
  /** The response encoding used when the client accepts it and the handler chose none. */
  defaultCompression: Encoding;
  /** Bytes an Observable-producing handler may get ahead of the peer before the call fails RESOURCE_EXHAUSTED. */
  maxBufferedResponseBytes: number;
  /** How long a unary-request call waits for its request message and half-close before failing DEADLINE_EXCEEDED. */
  requestMessageTimeoutMs: number;
  errors: ErrorMapper;
}

/** What the server learned from the request headers. */
export interface CallInit {
  stream: http2.ServerHttp2Stream;
  method: MethodDescriptor;
  handler: CallHandler;
  metadata: Metadata;
  requestEncoding: Encoding;
  acceptedEncodings: ReadonlySet<string>;
  /** The deadline as `Date.now()` milliseconds, if the client set one. */
  deadlineAt: number | undefined;
  peer: string;
  peerCertificate: PeerCertificate | undefined;
  /** Called whenever the call sends response headers, a message or its status. */
  onResponse?: () => void;
}

/** Where the response side of a call stands. */
enum ResponseState {
  /** Nothing sent yet: an error can still go as a trailers-only response. */
  Pending,
  /** Response headers sent; messages may follow. */
  HeadersSent,
  /** The status was sent, or the stream was reset. */
  Closed,
}

const { NGHTTP2_CANCEL, NGHTTP2_NO_ERROR } = http2.constants;

/** Whether a handler's result is a message itself, not a Promise or an Observable of one. */
function isPlainValue(result: unknown): boolean {
  return typeof (result as PromiseLike<unknown> | null)?.then !== 'function' && !isObservable(result);
}

/**
 * Runs one call from request headers to status. `onClose` is called once when the call is over,
 * whatever the outcome.
 */
export class ServerCall implements CallControl {
  private state = ResponseState.Pending;
  private readonly abort = new CallCancellation();
  private readonly context: GrpcContext;
  private readonly deadline: DeadlineTimer | undefined;
  private responseEncoding: Encoding;
  private compressMessages = true;
  private writer: MessageWriter<unknown> | undefined;
  private readonly stream: http2.ServerHttp2Stream;
  private onData: ((chunk: Buffer) => void) | undefined;

  constructor(
    private readonly init: CallInit,
    private readonly settings: CallSettings,
    private readonly onClose: (call: ServerCall) => void,
  ) {
    this.stream = init.stream;
    this.responseEncoding = this.acceptable(settings.defaultCompression);
    this.context = new GrpcContext({
      metadata: init.metadata,
      path: init.method.path,
      peer: init.peer,
      deadline: init.deadlineAt === undefined ? undefined : new Date(init.deadlineAt),
      cancellation: this.abort,
      peerCertificate: init.peerCertificate,
      control: this,
    });
    this.stream.on('error', () => undefined);
    // 'aborted' (a reset by the peer) comes before 'close'; between them the stream takes no more frames.
    this.stream.on('aborted', () => this.onStreamClose());
    this.stream.on('close', () => this.onStreamClose());
    this.deadline =
      init.deadlineAt === undefined
        ? undefined
        : new DeadlineTimer(init.deadlineAt, () => this.fail(new GrpcError(Status.DEADLINE_EXCEEDED, 'Deadline exceeded')));
  }

  /** The encodings the client accepts for responses. */
  get acceptedEncodings(): ReadonlySet<string> {
    return this.init.acceptedEncodings;
  }

  /** Whether the response headers went out. */
  get headersSent(): boolean {
    return this.state !== ResponseState.Pending;
  }

  /** Starts reading the request and runs the handler. */
  start(): void {
    if (this.state === ResponseState.Closed) return;
    void runInCallScope(this.context, () => this.run());
  }

  /** Ends the call from outside (shutdown): the handler's signal aborts and the stream is reset. */
  cancel(reason: GrpcError): void {
    if (this.state === ResponseState.Closed) return;
    this.close();
    this.abort.abort(reason);
    if (!this.stream.destroyed) this.stream.close(NGHTTP2_CANCEL);
  }

  sendInitialMetadata(metadata: Metadata): void {
    this.sendHeaders(metadata);
  }

  setResponseEncoding(encoding: Encoding): void {
    this.responseEncoding = this.acceptable(encoding);
  }

  setMessageCompression(enabled: boolean): void {
    this.compressMessages = enabled;
  }

  private acceptable(encoding: Encoding): Encoding {
    return this.init.acceptedEncodings.has(encoding) ? encoding : 'identity';
  }

  private readRequests<T>(sink: MessageSink<T>): void {
    const reader = new MessageReader<T>(
      {
        encoding: this.init.requestEncoding,
        maxMessageSize: this.settings.maxReceiveMessageSize,
        deserialize: this.init.method.deserializeRequest,
        kind: 'request',
      },
      sink,
    );
    this.onData = (chunk: Buffer) => reader.push(chunk);
    this.stream.on('data', this.onData);
    // Node also ends the readable side of a stream the client reset (RST_STREAM), and reports the
    // reset itself only afterwards, in the same turn of the event loop. Looking a turn later keeps
    // a cancellation from passing for the client's half-close (the end of the request messages).
    this.stream.on('end', () =>
      setImmediate(() => {
        if (this.stream.closed) this.onStreamClose();
        else reader.end();
      }),
    );
  }

  /**
   * The one request of a unary-request method; anything but exactly one message is UNIMPLEMENTED.
   * A request that does not arrive whole within `requestMessageTimeoutMs` fails DEADLINE_EXCEEDED.
   */
  private unaryRequest(): Promise<unknown> {
    let timer: NodeJS.Timeout | undefined;
    const request = new Promise((resolve, reject) => {
      const limit = this.settings.requestMessageTimeoutMs;
      if (Number.isFinite(limit)) {
        timer = setTimeout(() => reject(new GrpcError(Status.DEADLINE_EXCEEDED, `The request did not arrive within ${limit} ms`)), clampTimerDelay(limit));
        timer.unref();
      }
      this.abort.addEventListener('abort', () => reject(this.abort.reason), { once: true });
      let request: { value: unknown } | undefined;
      this.readRequests({
        message: (value) => {
          if (request !== undefined) reject(new GrpcError(Status.UNIMPLEMENTED, 'Expected exactly one request message, received more than one'));
          else request = { value };
        },
        end: () => {
          if (request === undefined) reject(new GrpcError(Status.UNIMPLEMENTED, 'Expected exactly one request message, received none'));
          else resolve(request.value);
        },
        error: (error) => reject(error),
      });
    });
    return request.finally(() => clearTimeout(timer));
  }

  private requestStream(): MessageSource<unknown> {
    const source = new MessageSource<unknown>({
      pause: () => this.stream.pause(),
      resume: () => this.stream.resume(),
      release: () => undefined,
    });
    this.abort.addEventListener('abort', () => source.abort(this.abort.reason), { once: true });
    this.readRequests({
      message: (value) => source.push(value),
      end: () => source.end(),
      error: (error) => {
        source.abort(error);
        this.fail(error);
      },
    });
    return source;
  }

  private async run(): Promise<void> {
    const { method, handler } = this.init;
    try {
      let result: unknown;
      if (method.requestStream) {
        result = handler(this.requestStream().stream, this.context);
      } else {
        const request = await this.unaryRequest();
        if (this.state === ResponseState.Closed) return;
        result = handler(request, this.context);
      }
      if (method.responseStream) {
        await streamValues(result as never, this.valueSink(), this.abort);
      } else if (isPlainValue(result)) {
        // The common unary case: a value returned synchronously is written at once.
        this.writeMessage(result ?? {});
      } else {
        const value = await singleValue(result, this.abort);
        this.writeMessage(value ?? {});
      }
      if (this.writer?.hasPending) await this.writer.flushed();
      this.finish({
        code: this.context.code ?? Status.OK,
        message: this.context.statusMessage,
        details: [],
        metadata: this.context.trailingMetadata,
      });
    } catch (error) {
      this.fail(error);
    }
  }

  /** Writes one response message, sending the headers first; the writer is made then, with the encoding chosen by that time. */
  private writeMessage(value: unknown): void {
    if (this.state === ResponseState.Closed) throw this.abort.reason ?? new GrpcError(Status.CANCELLED, 'Call ended');
    if (this.state === ResponseState.Pending) this.sendHeaders(undefined);
    this.writer ??= new MessageWriter(this.stream, {
      serialize: this.init.method.serializeResponse,
      encoding: this.responseEncoding,
      maxMessageSize: this.settings.maxSendMessageSize,
      kind: 'response',
    });
    this.writer.write(value, this.compressMessages);
    this.init.onResponse?.();
  }

  private valueSink(): ValueSink<unknown> {
    const limit = this.settings.maxBufferedResponseBytes;
    const call = this;
    return {
      write: (value) => this.writeMessage(value),
      get needsDrain() {
        return call.writer?.needsDrain ?? false;
      },
      drained: async () => call.writer?.drained(),
      checkBuffer: () => {
        if ((call.writer?.bufferedBytes ?? 0) > limit) {
          throw new GrpcError(
            Status.RESOURCE_EXHAUSTED,
            `Response buffer limit exceeded: the handler produced more than ${limit} bytes the client has not yet read`,
          );
        }
      },
    };
  }

  private sendHeaders(metadata: Metadata | undefined): void {
    if (this.state !== ResponseState.Pending || this.stream.destroyed || this.stream.closed) return;
    this.state = ResponseState.HeadersSent;
    this.init.onResponse?.();
    this.stream.respond(responseHeaders(this.responseEncoding, metadata), { waitForTrailers: true });
  }

  /** Ends the call with an error status, mapping unexpected errors; the handler's signal aborts. */
  private fail(error: unknown): void {
    if (this.state === ResponseState.Closed) return;
    let status: CallStatus;
    try {
      const grpcError = this.settings.errors.toGrpcError(error);
      const metadata = this.context.trailingMetadata.clone().merge(grpcError.metadata);
      status = { code: grpcError.code, message: grpcError.message, details: grpcError.details, metadata };
      // Encoded here, where a failure can still be answered: a malformed GrpcError from untyped
      // code (metadata or details of the wrong kind) would otherwise throw while the trailers
      // are sent, leaving the call without a status and the exception uncaught.
      trailers(status);
    } catch {
      status = { code: Status.UNKNOWN, message: UNEXPECTED_ERROR_MESSAGE, details: [], metadata: new Metadata() };
    }
    this.finish(status);
  }

  private finish(status: CallStatus): void {
    if (this.state === ResponseState.Closed) return;
    const previous = this.state;
    this.close();
    if (status.code !== Status.OK) this.abort.abort(new GrpcError(status.code, status.message));
    const stream = this.stream;
    if (stream.destroyed || stream.closed) return;
    this.init.onResponse?.();
    // Once the response is complete, a client still sending is asked to stop, without error (RFC 9113 8.1).
    const stopPeer = () => {
      if (!stream.readableEnded && !stream.destroyed) stream.close(NGHTTP2_NO_ERROR);
    };
    if (previous === ResponseState.Pending) {
      stream.respond(trailersOnly(status), { endStream: true });
      stopPeer();
    } else {
      stream.once('wantTrailers', () => {
        stream.sendTrailers(trailers(status));
        // Node submits trailers from a setImmediate; an RST_STREAM sent before that would drop them.
        setImmediate(stopPeer);
      });
      stream.end();
    }
  }

  private close(): void {
    this.state = ResponseState.Closed;
    this.deadline?.cancel();
    this.discardRequests();
    this.onClose(this);
  }

  /**
   * Stops reading request messages and lets any still arriving drain unread. node:http2 keeps a
   * closed stream whose readable side is paused (a handler that stopped consuming) until that
   * side ends, and counts it against MAX_CONCURRENT_STREAMS: enough of them and it refuses every
   * new stream on the connection.
   */
  private discardRequests(): void {
    if (this.onData !== undefined) this.stream.off('data', this.onData);
    this.onData = undefined;
    this.stream.resume();
  }

  private onStreamClose(): void {
    if (this.state === ResponseState.Closed) return;
    const code = this.stream.rstCode;
    this.close();
    const reason =
      code === NGHTTP2_CANCEL || code === NGHTTP2_NO_ERROR || code === undefined
        ? new GrpcError(Status.CANCELLED, 'The client cancelled the call')
        : new GrpcError(Status.CANCELLED, `The call was reset with HTTP/2 error ${code}`);
    this.abort.abort(reason);
  }
}
