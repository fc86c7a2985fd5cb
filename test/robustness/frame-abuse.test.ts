/**
 * Issue 9, "also survive": frames no client library would send, written by hand over TCP.
 * CONTINUATION floods, empty DATA floods, WINDOW_UPDATE with increment 0, HPACK table-size
 * abuse, SETTINGS floods, too many header fields. Each must close the offending connection or
 * stream, leave other connections (and a call in flight on one) unharmed, and keep memory bounded.
 */
import { type GrpcContext, Status } from '../../lib/index.js';
import { type ExampleRequest, exampleImplementation } from '../helpers/example-service.js';
import {
  continuationFrame,
  dataFrame,
  ErrorCode,
  Flag,
  FrameType,
  grpcRequestBlock,
  headersFrame,
  hpack,
  RawPeer,
  settingsFrame,
  windowUpdateFrame,
} from '../helpers/h2-frames.js';
import { deferred, type ExampleClient, expectHealthy, Harness, whenAborted } from '../helpers/harness.js';
import { rssMiB } from '../helpers/memory.js';
import { grpcHeaders, grpcStatus, rawCall, type RawResponse, exampleRequestFrame as request } from '../helpers/raw-http2.js';


const HOLD = '/nameko.example/unary_stream';

describe('hostile frames', () => {
  const harness = new Harness();
  const release = deferred();
  let port: number;
  let client: ExampleClient;
  let bystander: Promise<RawResponse>;

  const implementation = {
    ...exampleImplementation,
    async *unary_stream(_request: ExampleRequest, ctx: GrpcContext) {
      await Promise.race([release.promise, whenAborted(ctx.signal)]);
      yield { message: 'released', seqno: 1 };
    },
  };

  // One server for the file: every attack must leave it, and a call in flight on another connection, intact.
  beforeAll(async () => {
    ({ port } = await harness.serve(implementation));
    client = harness.client(port);
    bystander = rawCall(await harness.raw(port), grpcHeaders(HOLD), request('bystander'));
  });

  afterAll(async () => {
    release.resolve();
    expect(grpcStatus(await bystander)).toBe(Status.OK);
    harness.close();
  });

  let rssBefore: number;
  beforeEach(() => {
    rssBefore = rssMiB();
  });

  afterEach(async () => {
    await expectHealthy(client);
    expect(rssMiB() - rssBefore).toBeLessThan(64);
  });

  /** A connected peer that has completed the SETTINGS exchange, so the server's limits apply. */
  async function peer(to = port): Promise<RawPeer> {
    const connected = await RawPeer.connect(to);
    await connected.ready();
    return connected;
  }

  it('a CONTINUATION flood (an endless header block) closes the connection', async () => {
    const attacker = await peer();
    const id = attacker.streamId();
    await attacker.send(headersFrame(id, grpcRequestBlock(HOLD), { endHeaders: false }));
    const filler = continuationFrame(id, hpack.literal('x-filler', 'f'.repeat(100)));
    for (let batch = 0; batch < 100 && !attacker.isClosed; batch++) await attacker.send(...Array(100).fill(filler));
    expect((await attacker.waitForGoaway()).code).not.toBe(ErrorCode.NO_ERROR);
    await attacker.closed;
  });

  it('a flood of empty CONTINUATION frames closes the connection', async () => {
    const attacker = await peer();
    const id = attacker.streamId();
    await attacker.send(headersFrame(id, grpcRequestBlock(HOLD), { endHeaders: false }));
    const empty = continuationFrame(id, Buffer.alloc(0));
    for (let batch = 0; batch < 100 && !attacker.isClosed; batch++) await attacker.send(...Array(1000).fill(empty));
    expect((await attacker.waitForGoaway()).code).not.toBe(ErrorCode.NO_ERROR);
    await attacker.closed;
  });

  it('a flood of empty DATA frames closes the connection after maxSessionInvalidFrames', async () => {
    const attacker = await peer();
    const id = attacker.streamId();
    await attacker.send(headersFrame(id, grpcRequestBlock(HOLD)));
    const empty = dataFrame(id, Buffer.alloc(0));
    for (let batch = 0; batch < 20 && !attacker.isClosed; batch++) await attacker.send(...Array(1000).fill(empty));
    expect((await attacker.waitForGoaway()).code).not.toBe(ErrorCode.NO_ERROR);
    await attacker.closed;
  });

  it.each([
    ['on a stream', true],
    ['on the connection', false],
  ])('WINDOW_UPDATE with increment 0 %s is a protocol error: GOAWAY, the connection closed', async (_where, onStream) => {
    const attacker = await peer();
    const id = attacker.streamId();
    if (onStream) await attacker.send(headersFrame(id, grpcRequestBlock(HOLD)), windowUpdateFrame(id, 0));
    else await attacker.send(windowUpdateFrame(0, 0));
    expect((await attacker.waitForGoaway()).code).not.toBe(ErrorCode.NO_ERROR);
    await attacker.closed;
  });

  /** A server whose idle limit is short: it closes connections nghttp2 has given up on but Node keeps open. */
  async function quicklyIdle(): Promise<number> {
    return (await harness.serve(implementation, { maxConnectionIdleMs: 200 })).port;
  }

  it('an HPACK table size update beyond SETTINGS_HEADER_TABLE_SIZE is a COMPRESSION_ERROR; the dead connection is closed', async () => {
    const attacker = await peer(await quicklyIdle());
    await attacker.send(headersFrame(attacker.streamId(), Buffer.concat([hpack.tableSizeUpdate(1 << 30), grpcRequestBlock(HOLD)])));
    expect((await attacker.waitForGoaway()).code).toBe(ErrorCode.COMPRESSION_ERROR);
    // node:http2 keeps the socket of a session nghttp2 has terminated; the idle limit closes it.
    await attacker.closed;
  });

  it('an HPACK table size update after the first field of a block is a COMPRESSION_ERROR', async () => {
    const attacker = await peer(await quicklyIdle());
    await attacker.send(headersFrame(attacker.streamId(), Buffer.concat([grpcRequestBlock(HOLD), hpack.tableSizeUpdate(0)])));
    expect((await attacker.waitForGoaway()).code).toBe(ErrorCode.COMPRESSION_ERROR);
    await attacker.closed;
  });

  it('thousands of table size updates and a table filled and evicted over and over only cost the attacker', async () => {
    const attacker = await peer();
    // Each block starts with 200 size updates, then churns the 4 KiB table with 14 fields of 1 kB.
    const updates = Array.from({ length: 200 }, (_, j) => hpack.tableSizeUpdate(j % 2 === 0 ? 0 : 4096));
    const churn = Array.from({ length: 14 }, (_, i) => hpack.literalIndexed(`x-churn-${i}`, 'c'.repeat(1000)));
    const ids: number[] = [];
    for (let i = 0; i < 200; i++) {
      const id = attacker.streamId();
      ids.push(id);
      // No request message: each call is answered UNIMPLEMENTED.
      await attacker.send(headersFrame(id, Buffer.concat([...updates, grpcRequestBlock('/nameko.example/unary_unary'), ...churn]), { endStream: true }));
    }
    const done = (id: number) =>
      attacker.resets.has(id) || attacker.frames.some((f) => f.streamId === id && f.type === FrameType.HEADERS && (f.flags & Flag.END_STREAM) !== 0);
    await attacker.waitFor(() => ids.every(done) || attacker.goaway !== undefined, 'every stream answered, or GOAWAY');
    attacker.destroy();
  });

  it('a frame larger than SETTINGS_MAX_FRAME_SIZE is a FRAME_SIZE_ERROR; the dead connection is closed', async () => {
    const attacker = await peer(await quicklyIdle());
    await attacker.send(headersFrame(attacker.streamId(), Buffer.concat([grpcRequestBlock(HOLD), hpack.literal('x-huge', 'h'.repeat(20_000))])));
    expect((await attacker.waitForGoaway()).code).toBe(ErrorCode.FRAME_SIZE_ERROR);
    await attacker.closed;
  });

  it('a SETTINGS flood (thousands of SETTINGS to acknowledge) closes the connection', async () => {
    const attacker = await peer();
    const settings = settingsFrame([[0x4, 65535]]);
    for (let batch = 0; batch < 20 && !attacker.isClosed; batch++) await attacker.send(...Array(1000).fill(settings));
    expect((await attacker.waitForGoaway()).code).not.toBe(ErrorCode.NO_ERROR);
    await attacker.closed;
  });

  it('a header block with more fields than maxHeaderListPairs (128) resets only its stream', async () => {
    const attacker = await peer();
    const many = Array.from({ length: 200 }, (_, i) => [`x-f${i}`, 'v'] as [string, string]);
    const id = attacker.streamId();
    await attacker.send(headersFrame(id, grpcRequestBlock(HOLD, many)));
    await attacker.waitFor(() => attacker.resets.has(id), 'RST_STREAM');
    expect(attacker.resets.get(id)).toBe(ErrorCode.ENHANCE_YOUR_CALM);
    // Within the limit, on the same connection: served.
    const fine = attacker.streamId();
    await attacker.send(headersFrame(fine, grpcRequestBlock('/nameko.example/unary_unary', many.slice(0, 100))), dataFrame(fine, request('a'), true));
    await attacker.waitFor(
      () => attacker.frames.some((f) => f.streamId === fine && f.type === FrameType.HEADERS && (f.flags & Flag.END_STREAM) !== 0),
      'the status of the call within the limit',
    );
    expect(attacker.goaway).toBeUndefined();
    attacker.destroy();
  });
});
