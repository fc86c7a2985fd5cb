/**
 * The frame-level load generator's connection against a hand-driven HTTP/2 server (exact
 * frames: SETTINGS, PING, CONTINUATION, GOAWAY, RST_STREAM, limits and windows) and against
 * node:http2 through runWindow: what it sends, and the status or failure reason of every call.
 */
import http2 from 'node:http2';
import type net from 'node:net';
import { FrameConnection, type CallEnds } from '../../bench/load/frame-connection.js';
import { RequestFrames } from '../../bench/load/request-frames.js';
import { runWindow } from '../../bench/load/runners.js';
import { FrameCalls } from '../../bench/load/window-calls.js';
import type { Timing } from '../../bench/scenarios.js';
import { continuationFrame, dataFrame, encodeFrame, Flag, FrameType, hpack, headersFrame, pingFrame, type RawH2Server, type RawPeer, rstStreamFrame, Setting, startRawH2Server, windowUpdateFrame } from '../helpers/h2-frames.js';

/** Records call ends; lets `more` further calls start after the first ones. */
class Recorder implements CallEnds {
  readonly statuses: (string | undefined)[] = [];
  private readonly listeners = new Set<() => void>();

  constructor(private more = 0) {}

  ended(_startedMs: number, status: string | undefined): boolean {
    this.statuses.push(status);
    for (const listener of [...this.listeners]) listener();
    return this.more-- > 0;
  }

  /** Resolves once `count` calls ended. */
  ends(count: number): Promise<void> {
    if (this.statuses.length >= count) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.statuses.length} of ${count} calls ended: ${JSON.stringify(this.statuses)}`)), 5000);
      const check = () => {
        if (this.statuses.length < count) return;
        clearTimeout(timer);
        this.listeners.delete(check);
        resolve();
      };
      this.listeners.add(check);
    });
  }
}

const HEADERS = { ':method': 'POST', ':scheme': 'http', ':path': '/nameko.example/unary_unary', ':authority': 'bench', 'content-type': 'application/grpc', te: 'trailers' };
const BODY = Buffer.from([0, 0, 0, 0, 3, 0x0a, 0x01, 0x41]);
const responseHeaders = Buffer.concat([hpack.indexed(8), hpack.literal('content-type', 'application/grpc')]);
const trailers = (status: string) => hpack.literal('grpc-status', status);

/** Answers stream `id` with headers, one message and grpc-status `status` trailers. */
function answer(peer: RawPeer, id: number, status = '0'): Promise<void> {
  return peer.send(headersFrame(id, responseHeaders), dataFrame(id, BODY), headersFrame(id, trailers(status), { endStream: true }));
}

const requestIds = (peer: RawPeer) => peer.received(FrameType.HEADERS).map((frame) => frame.streamId);

describe('FrameConnection (bench frame-level load generator) against a hand-driven server', () => {
  let opened: { server: RawH2Server; connection: FrameConnection }[] = [];

  async function connect(settings: Array<[number, number]> = []): Promise<{ connection: FrameConnection; peer: RawPeer }> {
    const server = await startRawH2Server({ settings });
    const accepted = server.nextPeer();
    const connection = await FrameConnection.connect(server.port);
    opened.push({ server, connection });
    return { connection, peer: await accepted };
  }

  afterEach(async () => {
    for (const { server, connection } of opened) {
      connection.destroy();
      await server.close();
    }
    opened = [];
  });

  it('sends the preface, its SETTINGS and window, ACKs the server SETTINGS and answers PING', async () => {
    const { peer } = await connect();
    await peer.ready();
    const settings = peer.received(FrameType.SETTINGS).find((frame) => (frame.flags & Flag.ACK) === 0)!;
    const pairs = Array.from({ length: settings.payload.length / 6 }, (_, i) => [settings.payload.readUInt16BE(6 * i), settings.payload.readUInt32BE(6 * i + 2)]);
    expect(pairs).toEqual([
      [Setting.ENABLE_PUSH, 0],
      [Setting.INITIAL_WINDOW_SIZE, 2 ** 31 - 1],
    ]);
    const update = peer.received(FrameType.WINDOW_UPDATE)[0];
    expect([update.streamId, update.payload.readUInt32BE(0)]).toEqual([0, 2 ** 31 - 1 - 65_535]);
    expect(peer.received(FrameType.PING).find((frame) => frame.flags & Flag.ACK)?.payload.toString()).toBe('settled!');
  });

  it('makes calls back to back with the pre-encoded request and reads grpc-status from trailers', async () => {
    const { connection, peer } = await connect();
    const recorder = new Recorder(2);
    connection.start(new RequestFrames(HEADERS, BODY), 1, recorder);
    for (const id of [1, 3, 5]) {
      await peer.waitFor(() => requestIds(peer).includes(id), `request ${id}`);
      await answer(peer, id, id === 3 ? '13' : '0');
      await recorder.ends((id + 1) / 2);
    }
    expect(recorder.statuses).toEqual(['0', '13', '0']);
    const data = peer.received(FrameType.DATA);
    expect(data.map((frame) => [frame.streamId, frame.flags, frame.payload])).toEqual([1, 3, 5].map((id) => [id, Flag.END_STREAM, BODY]));
  });

  it('reads trailers-only responses, header blocks continued over CONTINUATION, and dynamic-table references', async () => {
    const { connection, peer } = await connect();
    const recorder = new Recorder();
    connection.start(new RequestFrames(HEADERS, BODY), 4, recorder);
    await peer.waitFor(() => requestIds(peer).length === 4, '4 requests');
    const indexedStatus = Buffer.concat([hpack.indexed(8), hpack.literalIndexed('grpc-status', '7')]);
    await peer.send(headersFrame(1, indexedStatus, { endStream: true })); // trailers-only; adds entry 62
    await peer.send(headersFrame(3, Buffer.concat([hpack.indexed(8), hpack.indexed(62)]), { endStream: true }));
    const long = Buffer.concat([responseHeaders, hpack.literal('x-filler', 'f'.repeat(100)), trailers('0')]);
    await peer.send(headersFrame(5, long.subarray(0, 10), { endHeaders: false, endStream: true }), continuationFrame(5, long.subarray(10, 60)), continuationFrame(5, long.subarray(60), true));
    await peer.send(headersFrame(7, Buffer.concat([hpack.indexed(14)]), { endStream: true })); // :status 500, no grpc-status
    await recorder.ends(4);
    expect(recorder.statuses).toEqual(['7', '7', '0', 'HTTP 500']);
  });

  it('fails calls reset by RST_STREAM or above a GOAWAY, and starts no call after GOAWAY', async () => {
    const { connection, peer } = await connect();
    const recorder = new Recorder(10);
    connection.start(new RequestFrames(HEADERS, BODY), 3, recorder);
    await peer.waitFor(() => requestIds(peer).length === 3, '3 requests');
    await peer.send(rstStreamFrame(1, 8));
    await recorder.ends(1);
    await peer.waitFor(() => requestIds(peer).length === 4, 'the request replacing the reset one');
    const goaway = Buffer.alloc(8);
    goaway.writeUInt32BE(5, 0);
    goaway.writeUInt32BE(11, 4);
    await peer.send(encodeFrame(FrameType.GOAWAY, 0, 0, goaway));
    await recorder.ends(2);
    await answer(peer, 3);
    await answer(peer, 5);
    await recorder.ends(4);
    expect(recorder.statuses).toEqual(['RST_STREAM CANCEL', 'GOAWAY ENHANCE_YOUR_CALM', '0', '0']);
    await peer.ready(); // a PING round trip: any request written after GOAWAY would have come first
    expect(requestIds(peer)).toEqual([1, 3, 5, 7]);
  });

  it('keeps within MAX_CONCURRENT_STREAMS and the connection send window', async () => {
    const { connection, peer } = await connect([[Setting.MAX_CONCURRENT_STREAMS, 2]]);
    const recorder = new Recorder(2);
    connection.start(new RequestFrames(HEADERS, BODY), 3, recorder);
    await peer.ready();
    expect(requestIds(peer)).toEqual([1, 3]);
    await answer(peer, 1);
    await peer.waitFor(() => requestIds(peer).length === 3, 'a third request once a stream is free');
    await peer.ready();
    expect(requestIds(peer)).toEqual([1, 3, 5]);

    const big = Buffer.alloc(16_000, 1);
    const second = await connect();
    second.connection.start(new RequestFrames(HEADERS, big), 5, new Recorder());
    await second.peer.ready();
    expect(second.peer.received(FrameType.DATA).length).toBe(4); // 4 × 16,000 bytes fit in 65,535
    await second.peer.send(windowUpdateFrame(0, 16_000));
    await second.peer.waitFor(() => second.peer.received(FrameType.DATA).length === 5, 'the fifth request after WINDOW_UPDATE');
  });

  it('sends a body larger than a frame or the stream window in pieces, as the server grants window', async () => {
    const { connection, peer } = await connect([[Setting.INITIAL_WINDOW_SIZE, 20_000]]);
    const body = Buffer.from(Array.from({ length: 40_000 }, (_, i) => i % 251));
    connection.start(new RequestFrames(HEADERS, body), 2, new Recorder());
    const sent = (id: number) => peer.received(FrameType.DATA).filter((frame) => frame.streamId === id);
    const bytes = (id: number) => sent(id).reduce((total, frame) => total + frame.payload.length, 0);
    await peer.ready();
    expect([bytes(1), bytes(3)]).toEqual([20_000, 20_000]); // each stream's window
    await peer.send(windowUpdateFrame(1, 30_000));
    await peer.waitFor(() => bytes(1) === 40_000, 'the rest of body 1 after WINDOW_UPDATE');
    await peer.ready();
    expect(bytes(3)).toBe(20_000);
    await peer.send(windowUpdateFrame(0, 100_000)); // the connection window (65,535) is used up
    await peer.send(windowUpdateFrame(3, 20_000));
    await peer.waitFor(() => bytes(3) === 40_000, 'the rest of body 3');
    for (const id of [1, 3]) {
      expect(Buffer.concat(sent(id).map((frame) => frame.payload))).toEqual(body);
      expect(sent(id).map((frame) => frame.flags & Flag.END_STREAM)).toEqual([...sent(id).slice(1).map(() => 0), Flag.END_STREAM]);
      expect(Math.max(...sent(id).map((frame) => frame.payload.length))).toBeLessThanOrEqual(16_384);
    }
  });

  it('fails the calls in flight with the reason when the server breaks the protocol or closes', async () => {
    const { connection, peer } = await connect();
    const recorder = new Recorder(5);
    connection.start(new RequestFrames(HEADERS, BODY), 2, recorder);
    await peer.waitFor(() => requestIds(peer).length === 2, '2 requests');
    await peer.send(pingFrame(Buffer.alloc(8)).subarray(0, 9 + 7).fill(7, 2, 3)); // declares a 7-byte PING
    await recorder.ends(2);
    expect(recorder.statuses).toEqual(['protocol error: frame of type 6 must be 8 bytes, not 7', 'protocol error: frame of type 6 must be 8 bytes, not 7']);
    await peer.closed;
  });
});

const TIMING: Timing = { warmupMs: 50, durationMs: 200, streamWarmupMessages: 0, streamMinMs: 0, streamCallCapMs: 1000, rounds: 1 };

/** A node:http2 server answering every call with `status`; records the most streams open at once. */
async function startServer(status: string, settings: http2.Settings = {}): Promise<{ port: number; requests: number; maxOpen: number; close(): Promise<void> }> {
  const state = { requests: 0, maxOpen: 0, open: 0 };
  const server = http2.createServer({ settings });
  server.on('stream', (stream, headers) => {
    state.requests++;
    state.maxOpen = Math.max(state.maxOpen, ++state.open);
    stream.on('error', () => undefined); // calls in flight are reset when the window ends
    stream.on('close', () => state.open--);
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => {
      if (stream.destroyed) return; // the window ended and the connection was reset as the request arrived
      const ok = headers[':path'] === HEADERS[':path'] && headers.te === 'trailers' && Buffer.concat(chunks).equals(BODY);
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': ok ? status : '3' }));
      stream.end(BODY);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    get requests() {
      return state.requests;
    },
    get maxOpen() {
      return state.maxOpen;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('runWindow with the frame-level load generator against node:http2', () => {
  it('makes calls with a 100 KiB body under node:http2 flow control', async () => {
    const body = Buffer.alloc(100 * 1024, 7);
    let received = 0;
    const server = http2.createServer();
    server.on('stream', (stream) => {
      stream.on('error', () => undefined);
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        if (stream.destroyed) return; // the window ended and the connection was reset as the request arrived
        if (Buffer.concat(chunks).equals(body)) received++;
        stream.respond({ ':status': 200, 'grpc-status': '0' }, { endStream: true });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const connections = await FrameCalls.connect((server.address() as net.AddressInfo).port, 1);
    try {
      const result = await runWindow(new FrameCalls(connections, 4, HEADERS, body), 1, TIMING, () => undefined);
      expect(result.failures).toEqual({});
      expect(result.completed).toBeGreaterThan(0);
      expect(received).toBeGreaterThanOrEqual(result.completed);
    } finally {
      for (const connection of connections) connection.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('counts completed calls, and failures by grpc-status, within MAX_CONCURRENT_STREAMS', async () => {
    for (const [status, settings] of [
      ['0', { maxConcurrentStreams: 3 }],
      ['13', {}],
    ] as const) {
      const server = await startServer(status, settings);
      const connections = await FrameCalls.connect(server.port, 2);
      try {
        const result = await runWindow(new FrameCalls(connections, 5, HEADERS, BODY), 1, TIMING, () => undefined);
        if (status === '0') {
          expect(result.completed).toBeGreaterThan(0);
          expect(result.failures).toEqual({});
          expect(server.maxOpen).toBeLessThanOrEqual(6);
        } else {
          expect(result.completed).toBe(0);
          expect(Object.keys(result.failures)).toEqual(['13']);
        }
        expect(result.latency.samples).toBeGreaterThanOrEqual(result.completed);
        expect(server.requests).toBeGreaterThan(result.completed);
        // The window lasts its nominal time and then to the end of a round: whole multiples of the 2 × 5 slots.
        const ended = result.completed + Object.values(result.failures).reduce((total, count) => total + count, 0);
        expect(ended).toBeGreaterThanOrEqual(10);
        expect(ended % 10).toBe(0);
        // A timer may fire up to a millisecond early against performance.now() (libuv caches the loop's time).
        expect(result.elapsedMs).toBeGreaterThanOrEqual(TIMING.durationMs - 1);
      } finally {
        for (const connection of connections) connection.destroy();
        await server.close();
      }
    }
  });
});
