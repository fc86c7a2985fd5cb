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
export function headerPairs(headers: http2.OutgoingHttpHeaders): [string, string][] {
  return Object.entries(headers).map(([name, value]) => [name.toLowerCase(), String(value)]);
}

/** One pre-encoded request: HEADERS (END_HEADERS) with a fixed block, then DATA (END_STREAM) with the body. */
export class RequestFrames {
  /** Both frames with stream id 0, patched per call. */
  private readonly bytes: Buffer;
  private readonly dataFrameOffset: number;

  /** Builds the frames of a request with these headers and `body` (at most one DATA frame: 16,384 bytes by default). */
  constructor(
    headers: http2.OutgoingHttpHeaders,
    readonly body: Buffer,
  ) {
    const block = encodeHeaderBlock(headerPairs(headers));
    this.dataFrameOffset = FRAME_HEADER_SIZE + block.length;
    this.bytes = Buffer.alloc(this.dataFrameOffset + FRAME_HEADER_SIZE + body.length);
    writeFrameHeader(this.bytes, 0, block.length, FRAME.HEADERS, FLAG.END_HEADERS, 0);
    block.copy(this.bytes, FRAME_HEADER_SIZE);
    writeFrameHeader(this.bytes, this.dataFrameOffset, body.length, FRAME.DATA, FLAG.END_STREAM, 0);
    body.copy(this.bytes, this.dataFrameOffset + FRAME_HEADER_SIZE);
  }

  /** Bytes per request on the wire. */
  get length(): number {
    return this.bytes.length;
  }

  /** Copies the request into `target` at `offset` as stream `streamId`. */
  writeTo(target: Buffer, offset: number, streamId: number): void {
    this.bytes.copy(target, offset);
    target.writeUInt32BE(streamId, offset + 5);
    target.writeUInt32BE(streamId, offset + this.dataFrameOffset + 5);
  }
}
