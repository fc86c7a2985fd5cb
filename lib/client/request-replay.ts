/**
 * The requests of one call, read from the caller once and kept (serialized) so that a retry
 * can send them again on a new stream, within a per-call and a per-client byte budget.
 */
import type http2 from 'node:http2';
import type { Encoding } from '../protocol/compression.js';
import { GrpcError } from '../protocol/grpc-error.js';
import { Status } from '../protocol/status.js';
import type { CancellationSignal } from '../transport/call-cancellation.js';
import { isMarkedUncompressed } from '../transport/message-flags.js';
import { MessageWriter, serializeMessage } from '../transport/message-writer.js';
import { streamValues, type StreamResult } from '../transport/value-pump.js';

/** Bytes an Observable of requests may get ahead of the connection before the call fails RESOURCE_EXHAUSTED. */
const MAX_BUFFERED_REQUEST_BYTES = 16 * 1024 * 1024;

/**
 * The bytes all calls of one client keep for retries (`retryBufferBytes`, default 16 MiB). A
 * call that cannot reserve more is committed: it is not retried after that.
 */
export class RetryBufferPool {
  private used = 0;

  constructor(readonly limit: number) {}

  /** Takes `bytes` from the pool; false (and nothing taken) when they do not fit. */
  reserve(bytes: number): boolean {
    if (this.used + bytes > this.limit) return false;
    this.used += bytes;
    return true;
  }

  /** Gives back bytes taken with `reserve`. */
  release(bytes: number): void {
    this.used -= bytes;
  }
}

/** One serialized request and whether it may be compressed. */
interface Frame {
  bytes: Uint8Array;
  compressed: boolean;
}

/** How a call sends its requests to each of its attempts. */
export interface RequestSender {
  /** Whether a new attempt can be given every request sent so far. */
  readonly replayable: boolean;
  /** Sends the requests to a new attempt's stream, with this `grpc-encoding`. */
  attach(stream: http2.ClientHttp2Stream, encoding: Encoding): void;
  /** The attempt's stream is finished with: requests wait for the next one. */
  detach(): void;
  /** The call is committed to its current attempt: nothing more is kept for retries. */
  commit(): void;
  /** Frees what is kept (the call has ended). */
  release(): void;
}

/** A writer of already serialized requests to an attempt's stream. */
export function requestWriter(stream: http2.ClientHttp2Stream, encoding: Encoding): MessageWriter<Uint8Array> {
  return new MessageWriter<Uint8Array>(stream, { serialize: unchanged, encoding, maxMessageSize: -1, kind: 'request' });
}

const unchanged = (bytes: Uint8Array) => bytes;

/** Half-closes `stream` once `writer` has written every request (compression may finish later); a compression failure goes to `fail`. */
export function endWhenFlushed(stream: http2.ClientHttp2Stream, writer: MessageWriter<Uint8Array>, fail: (error: GrpcError) => void): void {
  writer.flushed().then(
    () => stream.destroyed || stream.end(),
    (error: GrpcError) => fail(error),
  );
}

/** What a call's requests are serialized and kept with. */
export interface RequestOptions<Req> {
  serialize: (value: Req) => Uint8Array;
  /** The send limit in bytes; -1 for none. */
  maxMessageSize: number;
  /** Bytes this call may keep for retries (`retryBufferBytesPerCall`). */
  perCallLimit: number;
  pool: RetryBufferPool;
  /** A request could not be sent (or, for a stream, the request source failed): the call must end with this error. */
  fail: (error: GrpcError) => void;
  /** The requests outgrew the retry buffer: the call must not be retried after its current (or next) attempt. */
  overflow: () => void;
}

/** What a call's request stream is read with. */
export interface RequestReplayOptions<Req> extends RequestOptions<Req> {
  /** Aborts when the call ends; the request source is then abandoned. */
  signal: CancellationSignal;
}

/**
 * The request stream of a call, read only while an attempt's stream can take more (pull
 * sources) or within 16 MiB of unsent bytes (Observables). Each request is serialized once and
 * written to the attempt attached now; until the call commits, requests are also kept for the
 * next attempt, which gets them all again before any new one. When the kept bytes exceed the
 * per-call limit or the client's pool, the call commits (`overflow`) and the kept requests are
 * dropped once an attempt has them: no later attempt can be made.
 */
export class RequestReplay<Req> implements RequestSender {
  private kept: Frame[] = [];
  private keptBytes = 0;
  private pooledBytes = 0;
  private buffering = true;
  private complete = true;
  private ended = false;
  private started = false;
  private writer: MessageWriter<Uint8Array> | undefined;
  private stream: http2.ClientHttp2Stream | undefined;
  private waitingForAttempt: (() => void) | undefined;

  constructor(
    private readonly source: StreamResult<Req>,
    private readonly options: RequestReplayOptions<Req>,
  ) {}

  /** Whether a new attempt can be given every request sent so far. */
  get replayable(): boolean {
    return this.complete;
  }

  /** Sends the requests to a new attempt's stream: the kept ones, then the rest as they come. */
  attach(stream: http2.ClientHttp2Stream, encoding: Encoding): void {
    const writer = requestWriter(stream, encoding);
    this.stream = stream;
    this.writer = writer;
    for (const frame of this.kept) writer.write(frame.bytes, frame.compressed);
    if (!this.buffering) this.dropKept();
    if (this.ended) this.endAttempt();
    const waiting = this.waitingForAttempt;
    this.waitingForAttempt = undefined;
    waiting?.();
    if (!this.started) {
      this.started = true;
      this.read();
    }
  }

  /** The attempt's stream is finished with: requests wait for the next one. */
  detach(): void {
    this.stream = undefined;
    this.writer = undefined;
  }

  /** The call is committed to its current attempt: nothing more is kept for retries. */
  commit(): void {
    if (!this.buffering) return;
    this.buffering = false;
    this.unpool();
    if (this.writer !== undefined) this.dropKept();
  }

  /** Frees what is kept (the call has ended). */
  release(): void {
    this.buffering = false;
    this.kept = [];
    this.keptBytes = 0;
    this.unpool();
  }

  private unpool(): void {
    this.options.pool.release(this.pooledBytes);
    this.pooledBytes = 0;
  }

  /** Drops the kept requests (they were written to the attempt): no attempt after it can be given them. */
  private dropKept(): void {
    if (this.kept.length === 0) return;
    this.complete = false;
    this.kept = [];
    this.keptBytes = 0;
  }

  private read(): void {
    const replay = this;
    const sink = {
      write: (value: Req) => this.send(value),
      get needsDrain(): boolean {
        return replay.writer === undefined || replay.writer.needsDrain;
      },
      drained: () => this.drained(),
      checkBuffer: () => {
        const unsent = this.writer === undefined ? this.keptBytes : this.writer.bufferedBytes;
        if (unsent > MAX_BUFFERED_REQUEST_BYTES) {
          throw new GrpcError(Status.RESOURCE_EXHAUSTED, `More than ${MAX_BUFFERED_REQUEST_BYTES} bytes of requests are waiting to be sent`);
        }
      },
    };
    streamValues(this.source, sink, this.options.signal).then(
      () => this.end(),
      (error: unknown) => {
        if (this.options.signal.aborted) return;
        this.options.fail(error instanceof GrpcError ? error : new GrpcError(Status.CANCELLED, `The request stream failed: ${String((error as Error)?.message ?? error)}`));
      },
    );
  }

  private async drained(): Promise<void> {
    if (this.writer === undefined) await new Promise<void>((resolve) => (this.waitingForAttempt = resolve));
    await this.writer?.drained();
  }

  /** Serializes one request, keeps it while retries are possible and writes it to the current attempt. */
  private send(value: Req): void {
    const bytes = serializeMessage(value, this.options.serialize, this.options.maxMessageSize, 'request');
    const frame = { bytes, compressed: !isMarkedUncompressed(value) };
    if (this.buffering || this.writer === undefined) this.keep(frame);
    else this.complete = false;
    this.writer?.write(frame.bytes, frame.compressed);
    if (!this.buffering && this.writer !== undefined) this.dropKept();
  }

  /** Keeps a request for the next attempt; past the per-call limit or the pool, the call overflows (commits). */
  private keep(frame: Frame): void {
    this.kept.push(frame);
    this.keptBytes += frame.bytes.length;
    if (!this.buffering) return;
    if (this.keptBytes <= this.options.perCallLimit && this.options.pool.reserve(frame.bytes.length)) {
      this.pooledBytes += frame.bytes.length;
      return;
    }
    this.buffering = false;
    this.unpool();
    this.options.overflow();
  }

  private end(): void {
    this.ended = true;
    if (this.writer !== undefined) this.endAttempt();
  }

  /** Half-closes the attempt's stream once every request is written (compression may finish later). */
  private endAttempt(): void {
    endWhenFlushed(this.stream as http2.ClientHttp2Stream, this.writer as MessageWriter<Uint8Array>, this.options.fail);
  }
}
