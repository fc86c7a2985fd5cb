/**
 * The gRPC length-prefixed message: a compressed-flag byte, a 4-byte big-endian length, then
 * the message bytes. `encodeEnvelope` writes one; `Deframer` reads them back out of a byte
 * stream split at arbitrary places.
 */
import { GrpcError } from './grpc-error.js';
import { Status } from './status.js';

/** The size of the prefix in front of every message. */
export const ENVELOPE_HEADER_SIZE = 5;

/** The default limit on a received message: 4 MiB, as in the other gRPC implementations. */
export const DEFAULT_MAX_RECEIVE_MESSAGE_SIZE = 4 * 1024 * 1024;

/** One message taken out of the stream, still compressed when `compressed` is set. */
export interface Envelope {
  compressed: boolean;
  payload: Buffer;
}

/** The 5-byte prefix for a message of `length` bytes. */
export function envelopeHeader(length: number, compressed: boolean): Buffer {
  const header = Buffer.allocUnsafe(ENVELOPE_HEADER_SIZE);
  header[0] = compressed ? 1 : 0;
  header.writeUInt32BE(length, 1);
  return header;
}

/** One framed message: prefix and payload in a single buffer. */
export function encodeEnvelope(payload: Uint8Array, compressed: boolean): Buffer {
  const framed = Buffer.allocUnsafe(ENVELOPE_HEADER_SIZE + payload.length);
  framed[0] = compressed ? 1 : 0;
  framed.writeUInt32BE(payload.length, 1);
  framed.set(payload, ENVELOPE_HEADER_SIZE);
  return framed;
}

/**
 * An incremental reader of length-prefixed messages. Feed it chunks as they arrive; it returns
 * every message completed so far and keeps the rest. It checks each declared length against
 * `maxMessageSize` (default 4 MiB; -1 for no limit) as soon as the prefix is complete, before
 * buffering the body, and throws RESOURCE_EXHAUSTED naming both sizes; a flag byte other than
 * 0 or 1 throws INTERNAL. After an error the deframer is unusable.
 */
export class Deframer {
  private readonly chunks: Buffer[] = [];
  private buffered = 0;
  /** The length of the message being read, or -1 while its prefix is incomplete. */
  private bodyLength = -1;
  private compressed = false;

  constructor(private readonly maxMessageSize: number = DEFAULT_MAX_RECEIVE_MESSAGE_SIZE) {}

  /** Adds a chunk and returns the messages it completed (often none, possibly several). */
  push(chunk: Buffer): Envelope[] {
    const out: Envelope[] = [];
    if (chunk.length === 0) return out;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    for (;;) {
      if (this.bodyLength < 0) {
        if (this.buffered < ENVELOPE_HEADER_SIZE) break;
        this.readHeader(this.take(ENVELOPE_HEADER_SIZE));
      }
      if (this.buffered < this.bodyLength) break;
      out.push({ compressed: this.compressed, payload: this.take(this.bodyLength) });
      this.bodyLength = -1;
    }
    return out;
  }

  /**
   * Hands each message `chunk` completes to `onMessage`, as `push` returns them, and with the
   * same errors: a bad prefix anywhere in the chunk throws before any of the chunk's messages is
   * handed over. A chunk of whole messages with nothing held from earlier chunks (the usual
   * case) is read in place, without buffering or arrays.
   */
  read(chunk: Buffer, onMessage: (payload: Buffer, compressed: boolean) => void): void {
    if (this.buffered > 0 || this.bodyLength >= 0 || !this.holdsWholeMessages(chunk)) {
      for (const envelope of this.push(chunk)) onMessage(envelope.payload, envelope.compressed);
      return;
    }
    let offset = 0;
    while (offset < chunk.length) {
      const start = offset + ENVELOPE_HEADER_SIZE;
      const end = start + chunk.readUInt32BE(offset + 1);
      onMessage(chunk.subarray(start, end), chunk[offset] === 1);
      offset = end;
    }
  }

  /** Whether `chunk` is a run of whole messages; a bad prefix in it throws as `push` would. */
  private holdsWholeMessages(chunk: Buffer): boolean {
    let offset = 0;
    while (chunk.length - offset >= ENVELOPE_HEADER_SIZE) {
      offset += ENVELOPE_HEADER_SIZE + this.checkedLength(chunk[offset], chunk.readUInt32BE(offset + 1));
    }
    return offset === chunk.length;
  }

  /** Whether bytes of an unfinished message are held: true at the end of a stream means it was truncated. */
  get hasPartialMessage(): boolean {
    return this.buffered > 0 || this.bodyLength >= 0;
  }

  /** Call at the end of the stream: throws INTERNAL ("truncated message") if a message was cut off. */
  end(): void {
    if (this.hasPartialMessage) {
      throw new GrpcError(Status.INTERNAL, 'Received a truncated message: the stream ended inside a length-prefixed message');
    }
  }

  private readHeader(header: Buffer): void {
    this.bodyLength = this.checkedLength(header[0], header.readUInt32BE(1));
    this.compressed = header[0] === 1;
  }

  /** The declared length of a message whose prefix has `flag` and `length`; throws for a bad flag or a length over the limit. */
  private checkedLength(flag: number, length: number): number {
    if (flag > 1) throw new GrpcError(Status.INTERNAL, `Received a message with an invalid compressed-flag byte ${flag}`);
    if (this.maxMessageSize >= 0 && length > this.maxMessageSize) {
      throw new GrpcError(
        Status.RESOURCE_EXHAUSTED,
        `Received message larger than max (${length} vs. ${this.maxMessageSize})`,
      );
    }
    return length;
  }

  /** Removes and returns the first `size` buffered bytes, copying only when they span chunks. */
  private take(size: number): Buffer {
    this.buffered -= size;
    const first = this.chunks[0];
    if (first === undefined) return Buffer.alloc(0);
    if (first.length === size) {
      this.chunks.shift();
      return first;
    }
    if (first.length > size) {
      this.chunks[0] = first.subarray(size);
      return first.subarray(0, size);
    }
    const out = Buffer.allocUnsafe(size);
    let offset = 0;
    while (offset < size) {
      const chunk = this.chunks[0];
      const needed = size - offset;
      if (chunk.length <= needed) {
        chunk.copy(out, offset);
        offset += chunk.length;
        this.chunks.shift();
      } else {
        chunk.copy(out, offset, 0, needed);
        this.chunks[0] = chunk.subarray(needed);
        offset += needed;
      }
    }
    return out;
  }
}
