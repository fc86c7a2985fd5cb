/**
 * One incoming call on the server: reads the request messages, runs the handler, writes the
 * response messages and ends the stream with a status, honouring the deadline, client
 * cancellation and shutdown.
 */
import http2 from 'node:http2';
import type { Encoding } from '../protocol/compression.js';
import { GrpcError } from '../protocol/grpc-error.js';
import { type CallStatus, trailers } from '../protocol/headers.js';
import { Metadata } from '../protocol/metadata.js';
import { Status } from '../protocol/status.js';
import { CallCancellation } from '../transport/call-cancellation.js';
import { DeadlineTimer } from '../transport/deadline.js';
import { cancelStream } from '../transport/cancel-stream.js';
import { MessageReader, type MessageSink } from '../transport/message-reader.js';
import { MessageSource } from '../transport/message-source.js';
import { streamValues, type ValueSink } from '../transport/value-pump.js';
import { serveInCallScope } from './call-scope.js';
import { CallResponse } from './call-response.js';
import { UNEXPECTED_ERROR_MESSAGE } from './error-mapping.js';
import type { CallInit, CallSettings } from './call-init.js';
import { type CallControl, GrpcContext, trailingMetadataOf } from './grpc-context.js';
import { deliverSingle, type SingleSink } from './handler-result.js';
import { deferToNextTurn } from './next-turn.js';
import { onAdmittedStreamClose } from './server-connection.js';

/** Where a call stands. */
enum CallState {
  /** Reading the request, running the handler or sending the response (see CallResponse for how far). */
  Running,
  /** The status was sent, or the stream was reset. */
  Closed,
}

const { NGHTTP2_CANCEL, NGHTTP2_NO_ERROR } = http2.constants;

const NO_DETAILS: readonly never[] = Object.freeze([]);
/** The trailing metadata of a call whose handler set none; never handed to user code. */
const NO_METADATA = new Metadata();

/** Calls the handler; run inside the call's scope, so that what it starts and how its result is consumed see the call. */
function invoke(call: ServerCall, request: unknown): void {
  call.invokeHandler(request);
}

/**
 * Runs one call from request headers to status. `onClose` is called once when the call is over,
 * whatever the outcome. For a unary request it is the request's MessageSink.
 */
export class ServerCall implements CallControl, MessageSink<unknown>, SingleSink<unknown> {
  private state = CallState.Running;
  private readonly abort = new CallCancellation();
  private readonly context: GrpcContext;
  private readonly deadline: DeadlineTimer | undefined;
  private readonly response: CallResponse;
  private readonly stream: http2.ServerHttp2Stream;
  private reader: MessageReader<unknown> | undefined;
  private onData: ((chunk: Buffer) => void) | undefined;
  /** How many request messages a unary-request call received, and the first one. */
  private requestCount = 0;
  private request: unknown = undefined;

  constructor(
    private readonly init: CallInit,
    private readonly settings: CallSettings,
    private readonly onClose: (call: ServerCall) => void,
  ) {
    this.stream = init.stream;
    this.response = new CallResponse(init, settings);
    this.context = new GrpcContext({
      rawHeaders: init.rawHeaders,
      path: init.method.path,
      peer: init.peer,
      deadlineAt: init.deadlineAt,
      cancellation: this.abort,
      peerCertificate: init.peerCertificate,
      control: this,
    });
    onAdmittedStreamClose(this.stream, this);
    this.deadline =
      init.deadlineAt === undefined
        ? undefined
        : new DeadlineTimer(init.deadlineAt, () => this.fail(new GrpcError(Status.DEADLINE_EXCEEDED, 'Deadline exceeded')));
  }

  /** The encodings the client accepts for responses. */
  get acceptedEncodings(): ReadonlySet<string> {
    return this.init.acceptedEncodings;
  }

  /** Whether the response headers went out (or can no longer go out). */
  get headersSent(): boolean {
    return this.state === CallState.Closed || this.response.headersSent;
  }

  /**
   * Starts the call: a request stream is handed to the handler at once; a single request is read
   * first (it must arrive whole within `requestMessageTimeoutMs`).
   */
  start(): void {
    if (this.state === CallState.Closed) return;
    if (this.init.method.requestStream) {
      serveInCallScope(this.context, invoke, this, this.requestStream().stream);
      return;
    }
    this.settings.requestTimeouts.add(this);
    this.readRequests(this);
  }

  /**
   * Ends the call from outside (forceShutdown): the handler's signal aborts and the stream is reset
   * with RST_STREAM(CANCEL) alone, which clients report as CANCELLED. Closing it instead would send
   * END_STREAM first, and destroying the connection without a reset sends RST_STREAM(NO_ERROR):
   * either way a client could only read a broken response (INTERNAL).
   */
  cancel(reason: GrpcError): void {
    if (this.state === CallState.Closed) return;
    this.close();
    this.abort.abort(reason);
    cancelStream(this.stream);
  }

  sendInitialMetadata(metadata: Metadata): void {
    if (this.state !== CallState.Closed) this.response.sendHeaders(metadata);
  }

  setResponseEncoding(encoding: Encoding): void {
    this.response.setEncoding(encoding);
  }

  setMessageCompression(enabled: boolean): void {
    this.response.setMessageCompression(enabled);
  }

  /** MessageSink of a unary request: anything but exactly one message is UNIMPLEMENTED. */
  message(value: unknown): void {
    if (++this.requestCount === 1) this.request = value;
    else if (this.requestCount === 2) this.fail(new GrpcError(Status.UNIMPLEMENTED, 'Expected exactly one request message, received more than one'));
  }

  /** MessageSink of a unary request: its end, after which the handler runs. */
  end(): void {
    if (this.requestCount === 0) this.fail(new GrpcError(Status.UNIMPLEMENTED, 'Expected exactly one request message, received none'));
    else if (this.requestCount === 1 && this.state !== CallState.Closed) {
      this.settings.requestTimeouts.delete(this);
      serveInCallScope(this.context, invoke, this, this.request);
    }
  }

  /** MessageSink of a unary request: a request that could not be read; SingleSink: the handler's failure. */
  error(error: unknown): void {
    this.fail(error);
  }

  /** The unary request did not arrive within `requestMessageTimeoutMs` (told by the server's ExpiryQueue). */
  expire(): void {
    this.fail(new GrpcError(Status.DEADLINE_EXCEEDED, `The request did not arrive within ${this.settings.requestTimeouts.delayMs} ms`));
  }

  /** The end of the request messages, a turn after node:http2 reported it (see readRequests). */
  runDeferred(): void {
    if (this.stream.closed) this.streamClosed();
    else this.reader?.end();
  }

  /** Calls the handler with the request (or the request stream) and sends what it returns; runs in the call's scope. */
  invokeHandler(request: unknown): void {
    let result: unknown;
    try {
      result = this.init.handler(request, this.context);
    } catch (error) {
      this.fail(error);
      return;
    }
    if (this.init.method.responseStream) {
      streamValues(result as never, this.valueSink(), this.abort).then(
        () => this.complete(),
        (error: unknown) => this.fail(error),
      );
    } else {
      deliverSingle(result, this.abort, this);
    }
  }

  private readRequests(sink: MessageSink<unknown>): void {
    const reader = new MessageReader<unknown>(
      {
        encoding: this.init.requestEncoding,
        maxMessageSize: this.settings.maxReceiveMessageSize,
        deserialize: this.init.method.deserializeRequest,
        kind: 'request',
      },
      sink,
    );
    this.reader = reader;
    this.onData = (chunk: Buffer) => reader.push(chunk);
    this.stream.on('data', this.onData);
    // Node also ends the readable side of a stream the client reset (RST_STREAM), and reports the
    // reset itself only afterwards, in the same turn of the event loop. Looking a turn later keeps
    // a cancellation from passing for the client's half-close (the end of the request messages).
    // (Closures here, not shared listeners finding the call in a property of the stream: such a
    // property changes the stream's hidden class and measured slower.)
    this.stream.on('end', () => deferToNextTurn(this));
  }

  private requestStream(): MessageSource<unknown> {
    const source = new MessageSource<unknown>({
      pause: () => this.stream.pause(),
      resume: () => this.stream.resume(),
      release: () => undefined,
    });
    this.abort.addEventListener('abort', () => source.abort(this.abort.reason), { once: true });
    // A paused stream the client reset closes only once its unread data is consumed: notice the reset at once.
    this.stream.on('aborted', () => this.streamClosed());
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

  /** SingleSink: sends the single response and the status the context holds. */
  deliver(value: unknown): void {
    if (this.state === CallState.Closed) return;
    try {
      const bytes = this.response.writeSingle(value ?? {});
      if (bytes === undefined) this.complete();
      else this.finish(this.contextStatus(), bytes);
    } catch (error) {
      this.fail(error);
    }
  }

  /** Ends a call whose messages were all written with the status the context holds, once compression is done. */
  private complete(): void {
    if (this.response.hasPending) {
      this.response.flushed().then(
        () => this.finishWithContextStatus(),
        (error: unknown) => this.fail(error),
      );
    } else {
      this.finishWithContextStatus();
    }
  }

  private finishWithContextStatus(): void {
    try {
      this.finish(this.contextStatus());
    } catch (error) {
      this.fail(error);
    }
  }

  private contextStatus(): CallStatus {
    return {
      code: this.context.code ?? Status.OK,
      message: this.context.statusMessage,
      details: NO_DETAILS,
      metadata: trailingMetadataOf(this.context) ?? NO_METADATA,
    };
  }

  /** Where a streamed response goes: the response's writer, closed to the handler once the call is over. */
  private valueSink(): ValueSink<unknown> {
    const { response, abort } = this;
    const call = this;
    return {
      write(value) {
        if (call.state === CallState.Closed) throw abort.reason ?? new GrpcError(Status.CANCELLED, 'Call ended');
        response.write(value);
      },
      get needsDrain() {
        return response.needsDrain;
      },
      drained: () => response.drained(),
      checkBuffer: () => response.checkBuffer(),
    };
  }

  /** Ends the call with an error status, mapping unexpected errors; the handler's signal aborts. */
  private fail(error: unknown): void {
    if (this.state === CallState.Closed) return;
    let status: CallStatus;
    try {
      const grpcError = this.settings.errors.toGrpcError(error);
      const metadata = (trailingMetadataOf(this.context)?.clone() ?? new Metadata()).merge(grpcError.metadata);
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

  /**
   * Sends the status (after `lastMessage`, a serialized message, if given) and ends the call.
   * Throws, leaving the call open, when the status cannot be encoded (trailing metadata of the
   * wrong kind from untyped code).
   */
  private finish(status: CallStatus, lastMessage?: Uint8Array): void {
    if (this.state === CallState.Closed) return;
    const block = this.response.statusBlock(status);
    this.close();
    if (status.code !== Status.OK) this.abort.abort(new GrpcError(status.code, status.message));
    this.response.end(block, lastMessage);
  }

  private close(): void {
    this.state = CallState.Closed;
    this.deadline?.cancel();
    this.settings.requestTimeouts.delete(this);
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
    if (this.stream.readableEnded) return;
    if (this.onData !== undefined) this.stream.off('data', this.onData);
    this.onData = undefined;
    this.stream.resume();
  }

  /** The stream closed (told by the connection), or was reset by the client. */
  streamClosed(): void {
    if (this.state === CallState.Closed) return;
    const code = this.stream.rstCode;
    this.close();
    const reason =
      code === NGHTTP2_CANCEL || code === NGHTTP2_NO_ERROR || code === undefined
        ? new GrpcError(Status.CANCELLED, 'The client cancelled the call')
        : new GrpcError(Status.CANCELLED, `The call was reset with HTTP/2 error ${code}`);
    this.abort.abort(reason);
  }
}
