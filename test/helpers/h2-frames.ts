/**
 * A hand-written HTTP/2 peer for the frames node:http2 refuses to send: a frame encoder, a
 * minimal HPACK encoder (literals and static-table indices, no Huffman), and `RawPeer`, a plain
 * TCP socket that writes frames by hand and parses the frames it receives (headers are not
 * decoded). Independent of lib/ and of node:http2.
 */
import net from 'node:net';

/** HTTP/2 frame types (RFC 9113 §6). */
export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;

/** Frame flags. */
export const Flag = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4, PADDED: 0x8, PRIORITY: 0x20 } as const;

/** HTTP/2 error codes (RFC 9113 §7). */
export const ErrorCode = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  ENHANCE_YOUR_CALM: 0xb,
} as const;

/** SETTINGS identifiers. */
export const Setting = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
} as const;

/** The client connection preface. */
export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** One frame: the 9-byte header and the payload. */
export function encodeFrame(type: number, flags: number, streamId: number, payload: Uint8Array = Buffer.alloc(0)): Buffer {
  const out = Buffer.alloc(9 + payload.length);
  out.writeUIntBE(payload.length, 0, 3);
  out[3] = type;
  out[4] = flags;
  out.writeUInt32BE(streamId & 0x7fffffff, 5);
  out.set(payload, 9);
  return out;
}

/** A SETTINGS frame (an ACK when `ack` is set, then without parameters). */
export function settingsFrame(settings: Array<[number, number]> = [], ack = false): Buffer {
  const payload = Buffer.alloc(settings.length * 6);
  settings.forEach(([id, value], i) => {
    payload.writeUInt16BE(id, i * 6);
    payload.writeUInt32BE(value, i * 6 + 2);
  });
  return encodeFrame(FrameType.SETTINGS, ack ? Flag.ACK : 0, 0, payload);
}

/** A PING (8 bytes of opaque data). */
export function pingFrame(data: Buffer = Buffer.alloc(8), ack = false): Buffer {
  return encodeFrame(FrameType.PING, ack ? Flag.ACK : 0, 0, data);
}

/** An RST_STREAM. */
export function rstStreamFrame(streamId: number, code: number): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt32BE(code);
  return encodeFrame(FrameType.RST_STREAM, 0, streamId, payload);
}

/** A WINDOW_UPDATE (stream 0 for the connection). */
export function windowUpdateFrame(streamId: number, increment: number): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt32BE(increment & 0x7fffffff);
  return encodeFrame(FrameType.WINDOW_UPDATE, 0, streamId, payload);
}

/** A DATA frame. */
export function dataFrame(streamId: number, data: Uint8Array, endStream = false): Buffer {
  return encodeFrame(FrameType.DATA, endStream ? Flag.END_STREAM : 0, streamId, data);
}

/** A HEADERS frame carrying an already encoded header block fragment. */
export function headersFrame(streamId: number, block: Uint8Array, options: { endStream?: boolean; endHeaders?: boolean } = {}): Buffer {
  const flags = (options.endStream === true ? Flag.END_STREAM : 0) | (options.endHeaders === false ? 0 : Flag.END_HEADERS);
  return encodeFrame(FrameType.HEADERS, flags, streamId, block);
}

/** A CONTINUATION frame. */
export function continuationFrame(streamId: number, block: Uint8Array, endHeaders = false): Buffer {
  return encodeFrame(FrameType.CONTINUATION, endHeaders ? Flag.END_HEADERS : 0, streamId, block);
}

/** An HPACK integer with an N-bit prefix; `first` holds the representation's pattern bits. */
export function hpackInteger(value: number, prefixBits: number, first = 0): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([first | value]);
  const bytes = [first | max];
  let rest = value - max;
  while (rest >= 128) {
    bytes.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

function hpackString(text: string): Buffer {
  const bytes = Buffer.from(text, 'latin1');
  return Buffer.concat([hpackInteger(bytes.length, 7), bytes]);
}

/** HPACK representations (RFC 7541 §6), each a Buffer to concatenate into a header block. */
export const hpack = {
  /** An indexed field (static table 1–61, dynamic table from 62). */
  indexed: (index: number) => hpackInteger(index, 7, 0x80),
  /** A literal without indexing, with a literal name. */
  literal: (name: string, value: string) => Buffer.concat([Buffer.from([0x00]), hpackString(name), hpackString(value)]),
  /** A literal with incremental indexing (adds the field to the dynamic table), with a literal name. */
  literalIndexed: (name: string, value: string) => Buffer.concat([Buffer.from([0x40]), hpackString(name), hpackString(value)]),
  /** A literal with incremental indexing whose name is the table entry `index`. */
  literalIndexedName: (index: number, value: string) => Buffer.concat([hpackInteger(index, 6, 0x40), hpackString(value)]),
  /** A dynamic table size update. */
  tableSizeUpdate: (size: number) => hpackInteger(size, 5, 0x20),
};

/** The header block of a gRPC POST to `path` (:method POST and :scheme http from the static table), plus `extra` literals. */
export function grpcRequestBlock(path: string, extra: Array<[string, string]> = []): Buffer {
  return Buffer.concat([
    hpack.indexed(3), // :method POST
    hpack.indexed(6), // :scheme http
    hpack.literal(':path', path),
    hpack.literal(':authority', 'localhost'),
    hpack.literal('content-type', 'application/grpc'),
    hpack.literal('te', 'trailers'),
    ...extra.map(([name, value]) => hpack.literal(name, value)),
  ]);
}

/** A frame as received. */
export interface ReceivedFrame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
}

/** A received GOAWAY, decoded. */
export interface Goaway {
  lastStreamId: number;
  code: number;
  debug: string;
}

/** Decodes a GOAWAY payload. */
export function decodeGoaway(frame: ReceivedFrame): Goaway {
  return {
    lastStreamId: frame.payload.readUInt32BE(0) & 0x7fffffff,
    code: frame.payload.readUInt32BE(4),
    debug: frame.payload.subarray(8).toString('latin1'),
  };
}

/** Options of a RawPeer. */
export interface RawPeerOptions {
  /** Answer the server's SETTINGS with an ACK (default true). */
  ackSettings?: boolean;
  /** Answer the server's PINGs (default true); false makes a peer that looks dead to keepalive. */
  answerPings?: boolean;
  /** SETTINGS sent after the preface (default none). */
  settings?: Array<[number, number]>;
}

/**
 * One end of a connection speaking HTTP/2 by hand over TCP: a client (`connect`: sends the
 * preface and SETTINGS) or a server (`accept`: skips the client's preface, sends SETTINGS). It
 * records every frame it receives and resolves `closed` when the socket closes. It never sends
 * WINDOW_UPDATE: its receive windows are whatever SETTINGS gave.
 */
export class RawPeer {
  readonly frames: ReceivedFrame[] = [];
  /** Resolves when the socket is closed by either side. */
  readonly closed: Promise<void>;
  private buffer: Buffer = Buffer.alloc(0);
  /** Bytes of the client preface still to skip (server side). */
  private prefaceLeft = 0;
  private readonly listeners = new Set<() => void>();
  private nextStreamId = 1;

  private constructor(
    readonly socket: net.Socket,
    private readonly options: RawPeerOptions,
  ) {
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('close', () => this.notify());
  }

  /** Takes an accepted socket as the server side: sends SETTINGS, then reads the client's preface and frames. */
  static accept(socket: net.Socket, options: RawPeerOptions = {}): RawPeer {
    const peer = new RawPeer(socket, options);
    peer.prefaceLeft = PREFACE.length;
    peer.nextStreamId = 2;
    socket.write(settingsFrame(options.settings ?? []));
    return peer;
  }

  /** Connects to `127.0.0.1:port` and sends the preface and SETTINGS. */
  static connect(port: number, options: RawPeerOptions = {}): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        const peer = new RawPeer(socket, options);
        socket.write(Buffer.concat([PREFACE, settingsFrame(options.settings ?? [])]));
        resolve(peer);
      });
    });
  }

  /** A fresh client stream id (odd, increasing). */
  streamId(): number {
    const id = this.nextStreamId;
    this.nextStreamId += 2;
    return id;
  }

  /** Writes frames (or any bytes); resolves when they are handed to the kernel. Never rejects. */
  send(...frames: Buffer[]): Promise<void> {
    if (this.socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => this.socket.write(Buffer.concat(frames), () => resolve()));
  }

  /** Whether the socket is closed. */
  get isClosed(): boolean {
    return this.socket.destroyed || this.socket.readableEnded;
  }

  /** Frames of one type received so far. */
  received(type: number): ReceivedFrame[] {
    return this.frames.filter((frame) => frame.type === type);
  }

  /** The GOAWAY received, if any. */
  get goaway(): Goaway | undefined {
    const frame = this.frames.find((f) => f.type === FrameType.GOAWAY);
    return frame === undefined ? undefined : decodeGoaway(frame);
  }

  /** RST_STREAM codes received, by stream id. */
  get resets(): Map<number, number> {
    return new Map(this.received(FrameType.RST_STREAM).map((frame) => [frame.streamId, frame.payload.readUInt32BE(0)]));
  }

  /**
   * Resolves once `predicate` holds (checked on every frame and at close); rejects after
   * `timeoutMs` naming `what`.
   */
  waitFor(predicate: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!predicate()) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      this.listeners.add(check);
    });
  }

  /**
   * Completes the SETTINGS exchange: waits for the other side's SETTINGS and its ACK of ours, then
   * makes one PING round trip, so the other side has applied our ACK (node:http2 enforces its
   * advertised limits only from then on). Needs `ackSettings` (the default).
   */
  async ready(): Promise<void> {
    const settings = (ack: boolean) => this.received(FrameType.SETTINGS).some((f) => ((f.flags & Flag.ACK) !== 0) === ack);
    await this.waitFor(() => settings(false) && settings(true), 'the SETTINGS exchange');
    const acks = this.received(FrameType.PING).length;
    await this.send(pingFrame(Buffer.from('settled!')));
    await this.waitFor(() => this.received(FrameType.PING).length > acks, 'a PING ACK');
  }

  /** Resolves with the GOAWAY once one arrives. */
  async waitForGoaway(timeoutMs = 5000): Promise<Goaway> {
    await this.waitFor(() => this.goaway !== undefined, 'GOAWAY', timeoutMs);
    return this.goaway as Goaway;
  }

  /** Closes the socket. */
  destroy(): void {
    this.socket.destroy();
  }

  private receive(chunk: Buffer): void {
    if (this.prefaceLeft > 0) {
      const skipped = Math.min(this.prefaceLeft, chunk.length);
      this.prefaceLeft -= skipped;
      chunk = chunk.subarray(skipped);
    }
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    while (this.buffer.length >= 9) {
      const length = this.buffer.readUIntBE(0, 3);
      if (this.buffer.length < 9 + length) break;
      const frame: ReceivedFrame = {
        type: this.buffer[3],
        flags: this.buffer[4],
        streamId: this.buffer.readUInt32BE(5) & 0x7fffffff,
        payload: Buffer.from(this.buffer.subarray(9, 9 + length)),
      };
      this.buffer = this.buffer.subarray(9 + length);
      this.frames.push(frame);
      this.answer(frame);
    }
    this.notify();
  }

  private answer(frame: ReceivedFrame): void {
    if (frame.type === FrameType.SETTINGS && (frame.flags & Flag.ACK) === 0 && this.options.ackSettings !== false) {
      void this.send(settingsFrame([], true));
    }
    if (frame.type === FrameType.PING && (frame.flags & Flag.ACK) === 0 && this.options.answerPings !== false) {
      void this.send(pingFrame(frame.payload, true));
    }
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }
}

/** A TCP server whose every connection is a server-side RawPeer. */
export interface RawH2Server {
  port: number;
  /** Connections accepted so far. */
  readonly peers: RawPeer[];
  /** Resolves with the next connection accepted. */
  nextPeer(): Promise<RawPeer>;
  /** Closes every connection and the server. */
  close(): Promise<void>;
}

/** Listens on 127.0.0.1:0 and speaks HTTP/2 by hand on each connection (e.g. a server that stops answering PINGs). */
export async function startRawH2Server(options: RawPeerOptions = {}): Promise<RawH2Server> {
  const peers: RawPeer[] = [];
  const waiters: Array<(peer: RawPeer) => void> = [];
  const server = net.createServer((socket) => {
    const peer = RawPeer.accept(socket, options);
    peers.push(peer);
    waiters.shift()?.(peer);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as net.AddressInfo).port,
    peers,
    nextPeer: () => new Promise((resolve) => waiters.push(resolve)),
    close: () =>
      new Promise<void>((resolve) => {
        for (const peer of peers) peer.destroy();
        server.close(() => resolve());
      }),
  };
}
