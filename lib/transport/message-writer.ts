/**
 * Writes messages to one HTTP/2 stream: serialize, optionally compress, frame, and write.
 * Writes made in the same tick are corked together so small messages share DATA frames.
 */
import type { Duplex } from 'node:stream';
import { compress, type Encoding } from '../protocol/compression.js';
import { encodeEnvelope, envelopeHeader } from '../protocol/envelope.js';
import { GrpcError } from '../protocol/grpc-error.js';
import { Status } from '../protocol/status.js';
import { isMarkedUncompressed } from './message-flags.js';

/** Payloads up to this size are copied into one buffer with their prefix; larger ones are written as prefix + payload. */
const COPY_THRESHOLD = 4096;

/**
 * Serializes one message and checks it against the send limit (`maxMessageSize` bytes, -1 for
 * none): throws a GrpcError, INTERNAL when it does not serialize, RESOURCE_EXHAUSTED when it is
 * too large. `kind` names the message in the error.
 */
export function serializeMessage<T>(value: T, serialize: (value: T) => Uint8Array, maxMessageSize: number, kind: 'request' | 'response'): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = serialize(value);
  } catch {
    throw new GrpcError(Status.INTERNAL, `Failed to serialize the ${kind} message`);
  }
  if (maxMessageSize >= 0 && bytes.length > maxMessageSize) {
    throw new GrpcError(Status.RESOURCE_EXHAUSTED, `Sent message larger than max (${bytes.length} vs. ${maxMessageSize})`);
  }
  return bytes;
}

/** What a writer needs to know of its stream. */
export interface WriterOptions<T> {
  serialize: (value: T) => Uint8Array;
  /** The stream's `grpc-encoding`; identity sends every message uncompressed. */
  encoding: Encoding;
  /** The send limit in bytes after serialization; -1 for none. */
  maxMessageSize: number;
  /** Names the message in errors: `request` or `response`. */
  kind: 'request' | 'response';
}

/**
 * Encodes and writes messages in order. `write` throws a GrpcError for a message that does not
 * serialize (INTERNAL) or exceeds the send limit (RESOURCE_EXHAUSTED); failures of asynchronous
 * compression surface from `flushed()`.
 */
export class MessageWriter<T> {
  private pending: Promise<void> | undefined;
  private pendingBytes = 0;
  private corked = false;
  private failure: GrpcError | undefined;
  private readonly uncork = () => {
    this.corked = false;
    if (!this.stream.destroyed) this.stream.uncork();
  };

  constructor(
    private readonly stream: Duplex,
    private readonly options: WriterOptions<T>,
  ) {}

  /** Bytes accepted but not yet handed to the socket: the stream's write buffer plus messages still being compressed. */
  get bufferedBytes(): number {
    return this.stream.writableLength + this.pendingBytes;
  }

  /** Whether the caller should wait for `drained()` before writing more. */
  get needsDrain(): boolean {
    return this.stream.writableNeedDrain || this.pendingBytes > 0;
  }

  /** Queues one message; `compressed` false (or a message marked `withoutCompression`) is sent uncompressed even on a compressed stream. */
  write(value: T, compressed = true): void {
    const bytes = serializeMessage(value, this.options.serialize, this.options.maxMessageSize, this.options.kind);
    if (!compressed || this.options.encoding === 'identity' || isMarkedUncompressed(value)) {
      if (this.pending === undefined) this.writeFrame(bytes, false);
      else this.chain(Promise.resolve(bytes), false, bytes.length);
      return;
    }
    this.chain(compress(this.options.encoding, bytes), true, bytes.length);
  }

  private chain(payload: Promise<Uint8Array>, compressed: boolean, size: number): void {
    payload.catch(() => undefined);
    this.pendingBytes += size;
    const step = (this.pending ?? Promise.resolve()).then(async () => {
      let bytes: Uint8Array;
      try {
        bytes = await payload;
      } catch {
        this.failure ??= new GrpcError(Status.INTERNAL, `Failed to compress the ${this.options.kind} message`);
        return;
      } finally {
        this.pendingBytes -= size;
      }
      if (this.failure === undefined) this.writeFrame(bytes, compressed);
    });
    this.pending = step;
    void step.then(() => {
      if (this.pending === step) this.pending = undefined;
    });
  }

  private writeFrame(bytes: Uint8Array, compressed: boolean): void {
    if (this.stream.destroyed || this.stream.writableEnded) return;
    if (!this.corked) {
      this.corked = true;
      this.stream.cork();
      process.nextTick(this.uncork);
    }
    if (bytes.length <= COPY_THRESHOLD) {
      this.stream.write(encodeEnvelope(bytes, compressed));
    } else {
      this.stream.write(envelopeHeader(bytes.length, compressed));
      this.stream.write(bytes);
    }
  }

  /** Whether messages are still being compressed, or compression failed: then `flushed()` must be awaited before the status. */
  get hasPending(): boolean {
    return this.pending !== undefined || this.failure !== undefined;
  }

  /** Resolves once every queued message has been handed to the stream; rejects with the compression failure, if any. */
  async flushed(): Promise<void> {
    while (this.pending !== undefined) await this.pending;
    if (this.failure !== undefined) throw this.failure;
  }

  /** Resolves when the stream can take more (drained), or when it closes. */
  async drained(): Promise<void> {
    await this.flushed();
    const stream = this.stream;
    if (!stream.writableNeedDrain || stream.destroyed) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        stream.off('drain', done);
        stream.off('close', done);
        resolve();
      };
      stream.on('drain', done);
      stream.on('close', done);
    });
  }
}

/**
 * Writes one serialized, uncompressed message as the last data of `stream` and ends its writable
 * side: one buffer with the prefix for a small message, prefix and payload corked together for a
 * large one (no copy). Nothing happens on a stream already ended or destroyed.
 */
export function endWithMessage(stream: Duplex, bytes: Uint8Array): void {
  if (stream.destroyed || stream.writableEnded) return;
  if (bytes.length <= COPY_THRESHOLD) {
    stream.end(encodeEnvelope(bytes, false));
    return;
  }
  stream.cork();
  stream.write(envelopeHeader(bytes.length, false));
  stream.end(bytes);
}
