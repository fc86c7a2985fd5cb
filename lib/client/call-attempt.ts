/**
 * One attempt of a client call: one HTTP/2 stream, its response headers, messages and status.
 * The call decides what an attempt's outcome means (retry, transparent retry or the end).
 */
import http2 from 'node:http2';
import { type Encoding, parseEncodingHeader } from '../protocol/compression.js';
import { GrpcError } from '../protocol/grpc-error.js';
import { type CallStatus, GRPC_CONTENT_TYPE, type ReceivedHeaders, statusFromTrailers } from '../protocol/headers.js';
import { Metadata } from '../protocol/metadata.js';
import { Status, statusFromHttpStatus, statusFromRstCode } from '../protocol/status.js';
import type { MethodDescriptor } from '../protocol/stub.js';
import { cancelStream } from '../transport/cancel-stream.js';
import { MessageReader, type MessageSink } from '../transport/message-reader.js';
import { pushbackOf, PUSHBACK_HEADER } from './retry-policy.js';
import { unseenByServer } from './subchannel.js';

const { NGHTTP2_FLAG_END_STREAM, NGHTTP2_NO_ERROR, NGHTTP2_REFUSED_STREAM } = http2.constants;

/** A status for an error: a GrpcError's own, UNKNOWN with the message for anything else. */
export function statusOf(error: unknown): CallStatus {
  const grpcError =
    error instanceof GrpcError ? error : new GrpcError(Status.UNKNOWN, error instanceof Error ? error.message : String(error));
  return { code: grpcError.code, message: grpcError.message, details: grpcError.details, metadata: grpcError.metadata };
}

/** What an attempt reports to its call. */
export interface AttemptHost<Res> {
  readonly method: Pick<MethodDescriptor<unknown, Res>, 'responseStream' | 'deserializeResponse'>;
  readonly maxReceiveMessageSize: number;
  /** The error the whole call ended with (cancelled, deadline), if it has. */
  readonly callError: GrpcError | undefined;
  /** Response headers arrived (not Trailers-Only), as Node's raw header list: the call commits to this attempt. */
  onHeaders(rawHeaders: string[]): void;
  /** A response message arrived (always after `onHeaders`). */
  onMessage(value: Res): void;
  /** The attempt is over: its stream closed (and every response message was delivered). */
  onAttemptEnd(outcome: AttemptOutcome): void;
}

/** How an attempt ended. */
export interface AttemptOutcome {
  status: CallStatus;
  /** The server never saw the stream (REFUSED_STREAM, or above a GOAWAY's last stream id): safe to send again. */
  unseen: boolean;
  /** The `grpc-retry-pushback-ms` trailer, read with {@link pushbackOf}. */
  pushback: number | 'stop' | undefined;
}

const ignore = () => undefined;

const GRPC_CONTENT_TYPE_PATTERN = /^application\/grpc(?:$|[+;])/i;

/**
 * An attempt on an open stream: wires its events and reports its outcome to the host once the
 * stream has closed and every response message was delivered. An error of the attempt itself
 * (a bad response, a message over the receive limit) resets the stream with CANCEL and becomes
 * its status.
 */
export class CallAttempt<Res> implements MessageSink<Res> {
  private failure: GrpcError | undefined;
  private trailerBlock: { headers: ReceivedHeaders; raw: string[] } | undefined;
  /** The status read from `trailerBlock`, kept: an OK status may be asked for again once the reader ends. */
  private trailerStatus: CallStatus | undefined;
  private reader: MessageReader<Res> | undefined;
  /** False while a reader has messages to deliver. */
  private readerDone = true;
  private closed = false;
  private reported = false;
  private unseen = false;
  private responseCount = 0;
  private sawResponse = false;
  /** Node detaches a stream from its session once it is destroyed: kept to tell a lost connection from a reset. */
  private readonly session: http2.ClientHttp2Session;

  constructor(
    private readonly host: AttemptHost<Res>,
    readonly stream: http2.ClientHttp2Stream,
  ) {
    this.session = stream.session as http2.ClientHttp2Session;
    stream.on('error', ignore);
    stream.on('response', this.onResponse);
    stream.on('trailers', this.onTrailers);
    stream.on('close', this.onClose);
  }

  /** Ends the attempt with `error` as its status; RST_STREAM(CANCEL) alone, so the server cannot take partial requests for all of them. */
  fail(error: GrpcError): void {
    this.failure ??= error;
    cancelStream(this.stream);
  }

  /** A decoded response message (from the reader). */
  message(value: Res): void {
    if (this.failure !== undefined || this.host.callError !== undefined) return;
    this.responseCount++;
    this.host.onMessage(value);
  }

  /** Every response message was delivered (from the reader). */
  end(): void {
    this.readerDone = true;
    this.report();
  }

  /** The responses could not be read (from the reader). */
  error(error: GrpcError): void {
    this.fail(error);
    this.end();
  }

  /**
   * The server's status ends the call, even while requests are still being sent: stop sending
   * with RST_STREAM(NO_ERROR), or the stream (and the call) would stay open until they end.
   * Response messages already received are still read; requests still buffered would hold the
   * stream open, so it is let go once the last response is read.
   */
  private stopSending(): void {
    const stream = this.stream;
    if (stream.writableFinished || stream.destroyed) return;
    if (!stream.writableEnded) stream.close(NGHTTP2_NO_ERROR);
    if (stream.readableEnded) stream.destroy();
    else stream.once('end', () => stream.destroy());
  }

  private readonly onResponse = (headers: ReceivedHeaders, flags: number, raw: string[]): void => {
    this.sawResponse = true;
    if (headers['grpc-status'] !== undefined) {
      if ((flags & NGHTTP2_FLAG_END_STREAM) === 0) {
        // Only a header block that ends the stream is Trailers-Only; waiting for it to end anyway
        // would hang the call on a server that sends messages after it.
        this.fail(new GrpcError(Status.INTERNAL, 'The server sent a grpc-status in response headers that do not end the stream'));
        return;
      }
      // Trailers-only: no messages will follow (an OK one ends a response stream without messages).
      this.trailerBlock = { headers, raw };
      this.stopSending();
      return;
    }
    const httpStatus = Number(headers[':status']);
    if (httpStatus !== 200) {
      this.fail(new GrpcError(statusFromHttpStatus(httpStatus), `Received HTTP status ${httpStatus}`));
      return;
    }
    const contentType = headers['content-type'];
    if (contentType !== undefined && contentType !== GRPC_CONTENT_TYPE && !GRPC_CONTENT_TYPE_PATTERN.test(String(contentType))) {
      // Not a gRPC response (a proxy's page, say): HTTP 200 maps to UNKNOWN, as any status outside the table.
      this.fail(new GrpcError(Status.UNKNOWN, `Received HTTP status 200 with content-type ${JSON.stringify(contentType)}, not a gRPC response`));
      return;
    }
    let encoding: Encoding;
    try {
      encoding = parseEncodingHeader(headers['grpc-encoding'] as string | undefined);
    } catch {
      this.fail(new GrpcError(Status.INTERNAL, `The server used an unsupported grpc-encoding ${String(headers['grpc-encoding'])}`));
      return;
    }
    this.host.onHeaders(raw);
    const reader = new MessageReader<Res>(
      { encoding, maxMessageSize: this.host.maxReceiveMessageSize, deserialize: this.host.method.deserializeResponse, kind: 'response' },
      this,
    );
    this.reader = reader;
    this.readerDone = false;
    this.stream.on('data', this.onData);
  };

  private readonly onData = (chunk: Buffer): void => (this.reader as MessageReader<Res>).push(chunk);

  private readonly onTrailers = (headers: ReceivedHeaders, _flags: number, raw: string[]): void => {
    this.trailerBlock = { headers, raw };
    this.stopSending();
  };

  private readonly onClose = (): void => {
    const stream = this.stream;
    this.unseen = !this.sawResponse && (stream.rstCode === NGHTTP2_REFUSED_STREAM || unseenByServer(this.session, stream.id));
    this.closed = true;
    // 'end' comes before 'close' when the response was read to its end (not when the stream was reset):
    // the reader is told here, which spares an 'end' listener per call.
    if (!this.readerDone && stream.readableEnded) this.reader?.end();
    this.report();
  };

  /** Reports the outcome once the stream has closed, unless an OK status still waits for the reader to deliver its messages. */
  private report(): void {
    if (!this.closed || this.reported) return;
    const status = this.status();
    if (status === undefined) return;
    this.reported = true;
    this.host.onAttemptEnd({ status, unseen: this.unseen, pushback: pushbackOf(this.trailerBlock?.headers[PUSHBACK_HEADER]) });
  }

  /** The attempt's status; undefined while an OK status waits for the reader. */
  private status(): CallStatus | undefined {
    const local = this.host.callError ?? this.failure;
    if (local !== undefined) return statusOf(local);
    if (this.trailerBlock !== undefined) {
      const status = (this.trailerStatus ??= statusFromTrailers(this.trailerBlock.headers, Metadata.fromRawHeaders(this.trailerBlock.raw)));
      if (status.code !== Status.OK) return status;
      if (!this.readerDone) return undefined;
      if (!this.host.method.responseStream && this.responseCount !== 1) {
        return { ...status, code: Status.UNIMPLEMENTED, message: `Expected exactly one response message, received ${this.responseCount}` };
      }
      return status;
    }
    if (this.session.destroyed) {
      return statusOf(new GrpcError(Status.UNAVAILABLE, 'The connection to the server was lost'));
    }
    const code = this.stream.rstCode ?? NGHTTP2_NO_ERROR;
    const message =
      code === NGHTTP2_NO_ERROR
        ? 'The server ended the stream without a status'
        : `The server reset the stream (HTTP/2 error code ${code})`;
    return statusOf(new GrpcError(statusFromRstCode(code), message));
  }
}
