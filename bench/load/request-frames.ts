/**
 * `RequestFrames`: one request as the frame-level load generator sends it, a HEADERS frame and a
 * DATA frame encoded once per scenario. Each call copies the bytes and patches in its stream id.
 */
import type http2 from 'node:http2';
import { FLAG, FRAME, FRAME_HEADER_SIZE, writeFrameHeader } from './h2-frames.js';
import { STATIC_TABLE } from './hpack-static-table.js';

/** Appends HPACK integer `value` with an N-bit prefix (RFC 7541 §5.1); `first` holds the representation's leading bits. */
function pushInteger(out: number[], first: number, prefixBits: number, value: number): void {
  const mask = (1 << prefixBits) - 1;
  if (value < mask) {
    out.push(first | value);
    return;
  }
  out.push(first | mask);
  let rest = value - mask;
  while (rest >= 0x80) {
    out.push((rest & 0x7f) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  out.push(rest);
}

/** Appends a raw (not Huffman-coded) HPACK string literal. */
function pushString(out: number[], text: string): void {
  const bytes = Buffer.from(text, 'latin1');
  pushInteger(out, 0, 7, bytes.length);
  out.push(...bytes);
}

/**
 * A header block that leaves the server's dynamic table untouched: a field equal to a static
 * table entry is indexed (`:method: POST`), any other field is a literal without indexing, with
 * the static table's index for its name where it has one and raw (not Huffman) strings. Names
 * must be lowercase, pseudo-headers first.
 */
export function encodeHeaderBlock(headers: readonly (readonly [string, string])[]): Buffer {
  const out: number[] = [];
  for (const [name, value] of headers) {
    const exact = STATIC_TABLE.findIndex(([n, v]) => n === name && v === value);
    if (exact >= 0) {
      pushInteger(out, 0x80, 7, exact + 1);
      continue;
    }
    const named = STATIC_TABLE.findIndex(([n]) => n === name);
    pushInteger(out, 0x00, 4, named + 1); // 0 = the name follows as a literal
    if (named < 0) pushString(out, name);
    pushString(out, value);
  }
  return Buffer.from(out);
}

/** The [name, value] pairs of node:http2-style request headers, in their order. */
function headerPairs(headers: http2.OutgoingHttpHeaders): [string, string][] {
  return Object.entries(headers).map(([name, value]) => [name.toLowerCase(), String(value)]);
}

/** The largest body sent inline, in the DATA frame that follows the HEADERS (the smallest maximum frame size HTTP/2 allows). */
const INLINE_LIMIT = 16_384;

/**
 * One pre-encoded request: a HEADERS frame (END_HEADERS) with a fixed block, and the body. A
 * body of at most 16,384 bytes can go inline, as one DATA frame (END_STREAM) right after the
 * HEADERS in the same template; a larger one is sent separately, under flow control.
 */
export class RequestFrames {
  /** HEADERS, then (for a small body) DATA, with stream id 0, patched per call. */
  private readonly bytes: Buffer;
  private readonly headersLength: number;

  /** Builds the frames of a request with these headers and `body`. */
  constructor(
    headers: http2.OutgoingHttpHeaders,
    readonly body: Buffer,
  ) {
    const block = encodeHeaderBlock(headerPairs(headers));
    this.headersLength = FRAME_HEADER_SIZE + block.length;
    const inline = body.length <= INLINE_LIMIT;
    this.bytes = Buffer.alloc(this.headersLength + (inline ? FRAME_HEADER_SIZE + body.length : 0));
    writeFrameHeader(this.bytes, 0, block.length, FRAME.HEADERS, FLAG.END_HEADERS, 0);
    block.copy(this.bytes, FRAME_HEADER_SIZE);
    if (inline) {
      writeFrameHeader(this.bytes, this.headersLength, body.length, FRAME.DATA, FLAG.END_STREAM, 0);
      body.copy(this.bytes, this.headersLength + FRAME_HEADER_SIZE);
    }
  }

  /** Whether the body can go inline after the HEADERS (at most 16,384 bytes). */
  get canInline(): boolean {
    return this.bytes.length > this.headersLength;
  }

  /** Bytes per request on the wire: HEADERS and, with `inline`, the body's DATA frame. */
  length(inline: boolean): number {
    return inline ? this.bytes.length : this.headersLength;
  }

  /** Copies the request (with `inline`, its body too) into `target` at `offset` as stream `streamId`. */
  writeTo(target: Buffer, offset: number, streamId: number, inline: boolean): void {
    this.bytes.copy(target, offset, 0, this.length(inline));
    target.writeUInt32BE(streamId, offset + 5);
    if (inline) target.writeUInt32BE(streamId, offset + this.headersLength + 5);
  }
}
