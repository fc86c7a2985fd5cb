/**
 * One attempt of a client call: one HTTP/2 stream, its response headers, messages and status.
 * The call decides what an attempt's outcome means (retry, transparent retry or the end).
 */
import http2 from 'node:http2';
import { type Encoding, parseEncodingHeader } from '../protocol/compression.js';
import { GrpcError } from '../protocol/grpc-error.js';
import { type CallStatus, type ReceivedHeaders, statusFromTrailers } from '../protocol/headers.js';
import { Metadata } from '../protocol/metadata.js';
import { Status, statusFromHttpStatus, statusFromRstCode } from '../protocol/status.js';
import type { MethodDescriptor } from '../protocol/stub.js';
import { cancelStream } from '../transport/cancel-stream.js';
import { MessageReader } from '../transport/message-reader.js';
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
  /** Response headers arrived (not Trailers-Only): the call commits to this attempt. */
  onHeaders(metadata: Metadata): void;
  /** A response message arrived (always after `onHeaders`). */
  onMessage(value: Res): void;
}

/** How an attempt ended. */
export interface AttemptOutcome {
  status: CallStatus;
  /** The server never saw the stream (REFUSED_STREAM, or above a GOAWAY's last stream id): safe to send again. */
  unseen: boolean;
  /** The `grpc-retry-pushback-ms` trailer, read with {@link pushbackOf}. */
  pushback: number | 'stop' | undefined;
}

/**
 * An attempt on an open stream: wires its events and resolves `outcome` when it closes. An
 * error of the attempt itself (a bad response, a message over the receive limit) resets the
 * stream with CANCEL and becomes its status.
 */
export class CallAttempt<Res> {
  /** Resolves once the stream has closed. */
  readonly outcome: Promise<AttemptOutcome>;
  private failure: GrpcError | undefined;
  private trailerBlock: { headers: ReceivedHeaders; raw: string[] } | undefined;
  private readerDone: Promise<void> = Promise.resolve();
  private responseCount = 0;
  private sawResponse = false;

  constructor(
    private readonly host: AttemptHost<Res>,
    readonly stream: http2.ClientHttp2Stream,
  ) {
    // Node detaches a stream from its session once it is destroyed: keep the session to tell a lost connection from a reset.
    const session = stream.session as http2.ClientHttp2Session;
    this.watch();
    this.outcome = new Promise<void>((resolve) => stream.on('close', resolve)).then(async () => {
      const unseen = !this.sawResponse && (stream.rstCode === NGHTTP2_REFUSED_STREAM || unseenByServer(session, stream.id));
      const status = await this.statusOnClose(session);
      return { status, unseen, pushback: pushbackOf(this.trailerBlock?.headers[PUSHBACK_HEADER]) };
    });
  }

  /** Ends the attempt with `error` as its status; RST_STREAM(CANCEL) alone, so the server cannot take partial requests for all of them. */
  fail(error: GrpcError): void {
    this.failure ??= error;
    cancelStream(this.stream);
  }

  private watch(): void {
    const stream = this.stream;
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
      this.sawResponse = true;
      const httpStatus = Number(headers[':status']);
      if (headers['grpc-status'] !== undefined && (flags & NGHTTP2_FLAG_END_STREAM) === 0) {
        // Only a header block that ends the stream is Trailers-Only; waiting for it to end anyway
        // would hang the call on a server that sends messages after it.
        this.fail(new GrpcError(Status.INTERNAL, 'The server sent a grpc-status in response headers that do not end the stream'));
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
        this.fail(new GrpcError(statusFromHttpStatus(httpStatus), `Received HTTP status ${httpStatus}`));
        return;
      }
      const contentType = headers['content-type'];
      if (contentType !== undefined && !/^application\/grpc(?:$|[+;])/i.test(String(contentType))) {
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
      this.host.onHeaders(Metadata.fromRawHeaders(raw));
      const reader = new MessageReader<Res>(
        { encoding, maxMessageSize: this.host.maxReceiveMessageSize, deserialize: this.host.method.deserializeResponse, kind: 'response' },
        {
          message: (value) => {
            if (this.failure !== undefined || this.host.callError !== undefined) return;
            this.responseCount++;
            this.host.onMessage(value);
          },
          end: markReaderDone,
          error: (error) => {
            this.fail(error);
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
  }

  private localError(): GrpcError | undefined {
    return this.host.callError ?? this.failure;
  }

  private async statusOnClose(session: http2.ClientHttp2Session): Promise<CallStatus> {
    const local = this.localError();
    if (local !== undefined) return statusOf(local);
    if (this.trailerBlock !== undefined) {
      const status = statusFromTrailers(this.trailerBlock.headers, Metadata.fromRawHeaders(this.trailerBlock.raw));
      if (status.code !== Status.OK) return status;
      await this.readerDone;
      const late = this.localError();
      if (late !== undefined) return statusOf(late);
      if (!this.host.method.responseStream && this.responseCount !== 1) {
        return { ...status, code: Status.UNIMPLEMENTED, message: `Expected exactly one response message, received ${this.responseCount}` };
      }
      return status;
    }
    if (session.destroyed) {
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
