/**
 * HTTP/2 framing (RFC 9113 §4, §6) for the frame-level load generator: an incremental
 * `FrameParser` that checks each frame's length and stream id as soon as its 9-byte header is
 * in, and builders for the few control frames the client sends.
 */

/** Frame types (RFC 9113 §6). */
export const FRAME = { DATA: 0, HEADERS: 1, PRIORITY: 2, RST_STREAM: 3, SETTINGS: 4, PUSH_PROMISE: 5, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8, CONTINUATION: 9 } as const;

/** Frame flags (which apply depends on the type). */
export const FLAG = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4, PADDED: 0x8, PRIORITY: 0x20 } as const;

/** SETTINGS identifiers (RFC 9113 §6.5.2). */
export const SETTING = { HEADER_TABLE_SIZE: 1, ENABLE_PUSH: 2, MAX_CONCURRENT_STREAMS: 3, INITIAL_WINDOW_SIZE: 4, MAX_FRAME_SIZE: 5, MAX_HEADER_LIST_SIZE: 6 } as const;

/** The error codes of RST_STREAM and GOAWAY (RFC 9113 §7), by value. */
const ERROR_NAMES = ['NO_ERROR', 'PROTOCOL_ERROR', 'INTERNAL_ERROR', 'FLOW_CONTROL_ERROR', 'SETTINGS_TIMEOUT', 'STREAM_CLOSED', 'FRAME_SIZE_ERROR', 'REFUSED_STREAM', 'CANCEL', 'COMPRESSION_ERROR', 'CONNECT_ERROR', 'ENHANCE_YOUR_CALM', 'INADEQUATE_SECURITY', 'HTTP_1_1_REQUIRED'];

/** The name of an HTTP/2 error code, e.g. 8 → "CANCEL"; unknown codes as "0x…". */
export function errorName(code: number): string {
  return ERROR_NAMES[code] ?? `0x${code.toString(16)}`;
}

/** The client connection preface (RFC 9113 §3.4). */
export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** Size of a frame header. */
export const FRAME_HEADER_SIZE = 9;

/** The largest window (and window increment) HTTP/2 allows, 2^31-1. */
export const MAX_WINDOW = 0x7fffffff;

/** The initial flow-control window of a connection and of a stream until SETTINGS say otherwise (RFC 9113 6.9.2). */
export const DEFAULT_WINDOW = 65_535;

/** A frame the peer got wrong: a connection error with its HTTP/2 error code (1 PROTOCOL_ERROR, 6 FRAME_SIZE_ERROR). */
export class FrameError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

/** Receives whole frames from a `FrameParser`. */
export interface FrameHandler {
  /**
   * One frame. `payload` is a view into the received bytes, valid during the call only; for
   * DATA and HEADERS it excludes padding and the priority fields. `length` is the frame's full
   * payload length (what flow control counts).
   */
  frame(type: number, flags: number, streamId: number, payload: Buffer, length: number): void;
}

/** Payload lengths fixed by the frame type, or -1. */
function fixedLength(type: number): number {
  switch (type) {
    case FRAME.PRIORITY:
      return 5;
    case FRAME.RST_STREAM:
    case FRAME.WINDOW_UPDATE:
      return 4;
    case FRAME.PING:
      return 8;
    default:
      return -1;
  }
}

/** Throws a FrameError for a frame header that breaks RFC 9113's length or stream-id rules. */
function checkHeader(type: number, flags: number, length: number, streamId: number, maxFrameSize: number): void {
  if (length > maxFrameSize) throw new FrameError(`frame of type ${type} is ${length} bytes, larger than the maximum frame size ${maxFrameSize}`, 6);
  const fixed = fixedLength(type);
  if (fixed >= 0 && length !== fixed) throw new FrameError(`frame of type ${type} must be ${fixed} bytes, not ${length}`, 6);
  if (type === FRAME.SETTINGS && (length % 6 !== 0 || ((flags & FLAG.ACK) !== 0 && length !== 0))) throw new FrameError(`SETTINGS frame of ${length} bytes`, 6);
  if (type === FRAME.GOAWAY && length < 8) throw new FrameError(`GOAWAY frame of ${length} bytes (at least 8)`, 6);
  const connectionLevel = type === FRAME.SETTINGS || type === FRAME.PING || type === FRAME.GOAWAY;
  if (connectionLevel && streamId !== 0) throw new FrameError(`frame of type ${type} on stream ${streamId} (must be 0)`, 1);
  if (!connectionLevel && type <= FRAME.CONTINUATION && type !== FRAME.WINDOW_UPDATE && streamId === 0) throw new FrameError(`frame of type ${type} on stream 0`, 1);
}

/**
 * Splits a byte stream into HTTP/2 frames, whatever the chunk boundaries. Frames wholly inside
 * a chunk are passed on as views (no copy); a frame split across chunks is joined once it is
 * complete. Throws a `FrameError` for a frame header breaking a length or stream-id rule (a
 * frame longer than `maxFrameSize`, default 16,384, the value the client advertises) or for
 * padding longer than its frame; the connection is then unusable.
 */
export class FrameParser {
  private readonly pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Bytes the pending frame needs before it can be parsed further. */
  private needed = FRAME_HEADER_SIZE;

  constructor(
    private readonly handler: FrameHandler,
    private readonly maxFrameSize = 16_384,
  ) {}

  /** Whether the bytes so far end inside a frame. */
  get midFrame(): boolean {
    return this.pendingBytes > 0;
  }

  /** Feeds the next chunk of the byte stream. */
  push(chunk: Buffer): void {
    let data = chunk;
    if (this.pendingBytes > 0) {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
      if (this.pendingBytes < this.needed) return;
      data = Buffer.concat(this.pending, this.pendingBytes);
      this.pending.length = 0;
      this.pendingBytes = 0;
    }
    const size = data.length;
    let offset = 0;
    this.needed = FRAME_HEADER_SIZE;
    while (size - offset >= FRAME_HEADER_SIZE) {
      const length = (data[offset] << 16) | (data[offset + 1] << 8) | data[offset + 2];
      const type = data[offset + 3];
      const flags = data[offset + 4];
      const streamId = data.readUInt32BE(offset + 5) & MAX_WINDOW;
      checkHeader(type, flags, length, streamId, this.maxFrameSize);
      if (size - offset - FRAME_HEADER_SIZE < length) {
        this.needed = FRAME_HEADER_SIZE + length;
        break;
      }
      const start = offset + FRAME_HEADER_SIZE;
      offset = start + length;
      this.deliver(type, flags, streamId, data, start, offset);
    }
    if (offset < size) {
      this.pending.push(data.subarray(offset));
      this.pendingBytes = size - offset;
    }
  }

  private deliver(type: number, flags: number, streamId: number, data: Buffer, start: number, end: number): void {
    const length = end - start;
    if (type === FRAME.DATA || type === FRAME.HEADERS) {
      if ((flags & FLAG.PADDED) !== 0) {
        const padding = length > 0 ? data[start] : 0;
        start++;
        end -= padding;
      }
      if (type === FRAME.HEADERS && (flags & FLAG.PRIORITY) !== 0) start += 5;
      if (end < start) throw new FrameError(`frame of type ${type} on stream ${streamId}: padding and priority fields exceed its ${length} bytes`, 1);
    }
    this.handler.frame(type, flags, streamId, data.subarray(start, end), length);
  }
}

/** Writes a frame header into `target` at `offset`. */
export function writeFrameHeader(target: Buffer, offset: number, length: number, type: number, flags: number, streamId: number): void {
  target[offset] = length >>> 16;
  target[offset + 1] = (length >>> 8) & 0xff;
  target[offset + 2] = length & 0xff;
  target[offset + 3] = type;
  target[offset + 4] = flags;
  target.writeUInt32BE(streamId, offset + 5);
}

/** A whole frame with `payload`. */
export function frameBytes(type: number, flags: number, streamId: number, payload: Uint8Array = new Uint8Array(0)): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_SIZE + payload.length);
  writeFrameHeader(frame, 0, payload.length, type, flags, streamId);
  frame.set(payload, FRAME_HEADER_SIZE);
  return frame;
}

/** A SETTINGS frame with these [identifier, value] pairs. */
export function settingsFrame(settings: [number, number][]): Buffer {
  const payload = Buffer.allocUnsafe(6 * settings.length);
  settings.forEach(([id, value], index) => {
    payload.writeUInt16BE(id, 6 * index);
    payload.writeUInt32BE(value, 6 * index + 2);
  });
  return frameBytes(FRAME.SETTINGS, 0, 0, payload);
}

/** A WINDOW_UPDATE frame granting `increment` (1 to 2^31-1) bytes on `streamId` (0: the connection). */
export function windowUpdateFrame(streamId: number, increment: number): Buffer {
  const payload = Buffer.allocUnsafe(4);
  payload.writeUInt32BE(increment, 0);
  return frameBytes(FRAME.WINDOW_UPDATE, 0, streamId, payload);
}
