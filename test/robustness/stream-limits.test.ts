/**
 * Issue 9, item 9: stream limits against a hand-written HTTP/2 peer. MAX_CONCURRENT_STREAMS
 * (an excess stream refused alone; streams of finished calls not counted), HPACK amplification,
 * Rapid Reset (CVE-2023-44487) and PING floods (keepalive enforcement).
 */
import { GrpcClient, type GrpcContext, type MessageStream, Status } from '../../lib/index.js';
import { type ExampleRequest, exampleImplementation, exampleStub } from '../helpers/example-service.js';
import {
  dataFrame,
  ErrorCode,
  Flag,
  FrameType,
  grpcRequestBlock,
  headersFrame,
  hpack,
  pingFrame,
  RawPeer,
  rstStreamFrame,
} from '../helpers/h2-frames.js';
import { deferred, expectHealthy, Harness, whenAborted } from '../helpers/harness.js';
import { rssMiB } from '../helpers/memory.js';
import { grpcHeaders, grpcStatus, rawCall, exampleRequestFrame as request } from '../helpers/raw-http2.js';


const HOLD = '/nameko.example/unary_stream';
const UNARY = '/nameko.example/unary_unary';

/** Whether the server ended `streamId` with a header block carrying END_STREAM (its status). */
function answered(peer: RawPeer, streamId: number): boolean {
  return peer.frames.some((f) => f.streamId === streamId && f.type === FrameType.HEADERS && (f.flags & Flag.END_STREAM) !== 0);
}

/** unary_stream holds each call until `release` resolves (or the call is aborted); unary_unary echoes. */
function holdingImplementation() {
  const release = deferred();
  const metadataSeen: string[][] = [];
  return {
    release,
    metadataSeen,
    implementation: {
      ...exampleImplementation,
      async *unary_stream(_request: ExampleRequest, ctx: GrpcContext) {
        metadataSeen.push(ctx.metadata.get('x-big').map(String));
        await Promise.race([release.promise, whenAborted(ctx.signal)]);
        yield { message: 'released', seqno: 1 };
      },
    },
  };
}

describe('MAX_CONCURRENT_STREAMS', () => {
  const harness = new Harness();
  afterEach(() => harness.close());

  it('refuses a stream over the advertised limit alone with REFUSED_STREAM while the calls on that connection complete', async () => {
    const { release, implementation } = holdingImplementation();
    const { port } = await harness.serve(implementation, { maxConcurrentStreams: 2 });
    // A client may open streams before it has seen (and acknowledged) the server's SETTINGS.
    const peer = await RawPeer.connect(port, { ackSettings: false });
    for (const id of [1, 3, 5]) await peer.send(headersFrame(id, grpcRequestBlock(HOLD)), dataFrame(id, request('a'), true));
    await peer.waitFor(() => peer.resets.has(5), 'RST_STREAM on stream 5');
    expect(peer.resets.get(5)).toBe(ErrorCode.REFUSED_STREAM);
    const settings = peer.received(FrameType.SETTINGS).find((f) => (f.flags & Flag.ACK) === 0);
    expect(settings?.payload.includes(Buffer.from([0x00, 0x03, 0x00, 0x00, 0x00, 0x02]))).toBe(true);
    release.resolve();
    await peer.waitFor(() => answered(peer, 1) && answered(peer, 3), 'the status of streams 1 and 3');
    // The connection lives on: a new stream within the limit is served.
    await peer.send(headersFrame(7, grpcRequestBlock(HOLD)), dataFrame(7, request('b'), true));
    await peer.waitFor(() => answered(peer, 7), 'the status of stream 7');
    expect(peer.goaway).toBeUndefined();
    expect([...peer.resets.keys()]).toEqual([5]);
    peer.destroy();
  });

  it('does not count the streams of calls that ended while the client was still sending (node:http2 would refuse new streams ENHANCE_YOUR_CALM)', async () => {
    const { port } = await harness.serve(
      {
        async stream_unary(requests: MessageStream<ExampleRequest>) {
          // Reads one message and answers; the client is still sending the rest.
          await requests[Symbol.asyncIterator]().next();
          return { message: 'early', seqno: 0 };
        },
      },
      { maxConcurrentStreams: 2 },
    );
    const client = new GrpcClient(`127.0.0.1:${port}`, exampleStub);
    try {
      const many = Array.from({ length: 200 }, () => ({ value: 'x'.repeat(1000) }));
      const outcomes: Array<string | number> = [];
      for (let round = 0; round < 15; round++) {
        const results = await Promise.allSettled(Array.from({ length: 4 }, () => client.stream_unary(many)));
        for (const result of results) outcomes.push(result.status === 'fulfilled' ? result.value.message : (result.reason as { code: number }).code);
      }
      expect(outcomes).toEqual(Array(60).fill('early'));
    } finally {
      client.close();
    }
  });
});

describe('HPACK amplification', () => {
  const harness = new Harness();
  afterEach(() => harness.close());

  it('refuses header blocks that decode beyond maxHeaderListSize stream by stream, keeping memory bounded', async () => {
    const { release, metadataSeen, implementation } = holdingImplementation();
    const { port } = await harness.serve(implementation);
    const client = harness.client(port);
    const peer = await RawPeer.connect(port);
    await peer.ready();
    const big = 'v'.repeat(4000);
    // Stream 1 puts a 4 kB field in the server's HPACK table; it is then referenced by one byte.
    await peer.send(headersFrame(1, Buffer.concat([grpcRequestBlock(HOLD), hpack.literalIndexed('x-big', big)])), dataFrame(1, request('a'), true));
    const reference = hpack.indexed(62);
    // Three references decode to ~12 kB, within the default 16 KiB limit.
    await peer.send(headersFrame(3, Buffer.concat([grpcRequestBlock(HOLD), reference, reference, reference])), dataFrame(3, request('a'), true));
    // Five decode to ~20 kB: over 16 KiB (Node's own default would have taken 64 KiB).
    await peer.send(headersFrame(5, Buffer.concat([grpcRequestBlock(HOLD), ...Array(5).fill(reference)])), dataFrame(5, request('a'), true));
    await peer.waitFor(() => peer.resets.has(5) && metadataSeen.length === 2, 'stream 5 refused and streams 1 and 3 running');
    expect(peer.resets.get(5)).toBe(ErrorCode.ENHANCE_YOUR_CALM);
    expect(metadataSeen.map((values) => values.length)).toEqual([1, 3]);

    // 400 blocks of 2 kB, each decoding to 8 MB: 3.2 GB if decoded and kept.
    const rssBefore = rssMiB();
    const amplified = Buffer.concat([grpcRequestBlock(HOLD), ...Array(2000).fill(reference)]);
    let id = 7;
    for (let batch = 0; batch < 20; batch++) {
      const frames: Buffer[] = [];
      for (let i = 0; i < 20; i++, id += 2) frames.push(headersFrame(id, amplified));
      await peer.send(...frames);
    }
    const last = id - 2;
    await peer.waitFor(() => peer.resets.has(last), 'the last amplified stream refused', 10_000);
    expect(rssMiB() - rssBefore).toBeLessThan(64);
    expect([...peer.resets.values()].every((code) => code === ErrorCode.ENHANCE_YOUR_CALM)).toBe(true);
    expect(peer.resets.size).toBe(1 + 400);
    // The connection and its two calls are unharmed.
    expect(peer.goaway).toBeUndefined();
    release.resolve();
    await peer.waitFor(() => answered(peer, 1) && answered(peer, 3), 'the status of streams 1 and 3');
    await expectHealthy(client);
    peer.destroy();
  });
});

describe('Rapid Reset (HEADERS then RST_STREAM, thousands of times)', () => {
  const harness = new Harness();
  afterEach(() => harness.close());

  it.each([
    ['CANCEL', ErrorCode.CANCEL],
    ['NO_ERROR', ErrorCode.NO_ERROR],
  ])('with RST_STREAM(%s): the connection is closed with GOAWAY(ENHANCE_YOUR_CALM, too_many_resets); other connections and the process stay healthy', async (_name, resetCode) => {
    const { release, implementation } = holdingImplementation();
    const { port } = await harness.serve(implementation);
    const client = harness.client(port);
    await expectHealthy(client);
    // A call in flight on another connection must survive the attack.
    const bystander = await harness.raw(port);
    const inFlight = rawCall(bystander, grpcHeaders(HOLD), request('bystander'));
    const peer = await RawPeer.connect(port);
    const rssBefore = rssMiB();
    let sent = 0;
    for (let batch = 0; batch < 20 && !peer.isClosed && peer.goaway === undefined; batch++) {
      const frames: Buffer[] = [];
      for (let i = 0; i < 250; i++, sent++) {
        const id = peer.streamId();
        frames.push(headersFrame(id, grpcRequestBlock(HOLD)), rstStreamFrame(id, resetCode));
      }
      await peer.send(...frames);
    }
    const goaway = await peer.waitForGoaway();
    expect(goaway.code).toBe(ErrorCode.ENHANCE_YOUR_CALM);
    expect(goaway.debug).toBe('too_many_resets');
    // Cut after the default burst of 500 (and before node:http2's own limit of 1000).
    expect(goaway.lastStreamId).toBeGreaterThan(2 * 500);
    expect(goaway.lastStreamId).toBeLessThan(2 * 1000);
    await peer.closed;
    expect(sent).toBeGreaterThan(500);
    expect(rssMiB() - rssBefore).toBeLessThan(100);
    release.resolve();
    expect(grpcStatus(await inFlight)).toBe(Status.OK);
    await expectHealthy(client);
  });

  it('tolerates cancellations within the burst and counts them against a configured maxResetStreamsBurst', async () => {
    const calm = await harness.serve(holdingImplementation().implementation);
    // No refill: the outcome does not depend on how fast the resets are processed.
    const strict = await harness.serve(holdingImplementation().implementation, { maxResetStreamsBurst: 50, maxResetStreamsPerSecond: 0 });
    const outcome = async (port: number, cancels: number) => {
      const peer = await RawPeer.connect(port);
      const frames: Buffer[] = [];
      for (let i = 0; i < cancels; i++) {
        const id = peer.streamId();
        frames.push(headersFrame(id, grpcRequestBlock(HOLD)), rstStreamFrame(id, ErrorCode.CANCEL));
      }
      await peer.send(...frames);
      // A PING round trip shows the server has read everything before it.
      await peer.send(pingFrame(Buffer.from('sentinel')));
      await peer.waitFor(() => peer.goaway !== undefined || peer.received(FrameType.PING).length > 0, 'a PING ACK or GOAWAY');
      const result = peer.goaway;
      peer.destroy();
      return result;
    };
    expect(await outcome(calm.port, 400)).toBeUndefined();
    expect(await outcome(strict.port, 50)).toBeUndefined();
    expect(await outcome(strict.port, 51)).toMatchObject({ code: ErrorCode.ENHANCE_YOUR_CALM, debug: 'too_many_resets' });
  });
});

describe('PING floods (keepalive enforcement)', () => {
  const harness = new Harness();
  afterEach(() => harness.close());

  /** Sends a PING and waits for its ACK or the end of the connection. */
  async function pingOnce(peer: RawPeer): Promise<void> {
    const acks = peer.received(FrameType.PING).length;
    await peer.send(pingFrame());
    await peer.waitFor(() => peer.received(FrameType.PING).length > acks || peer.goaway !== undefined || peer.isClosed, 'a PING ACK');
  }

  it('closes a connection whose client PINGs too often with GOAWAY(ENHANCE_YOUR_CALM, too_many_pings) after two strikes', async () => {
    const { port } = await harness.serve(exampleImplementation);
    const client = harness.client(port);
    const peer = await RawPeer.connect(port);
    let pings = 0;
    while (peer.goaway === undefined && !peer.isClosed && pings < 10) {
      await pingOnce(peer);
      pings++;
    }
    // The first PING is free, the next two are strikes, the fourth is one too many.
    expect(pings).toBe(4);
    expect(peer.goaway).toMatchObject({ code: ErrorCode.ENHANCE_YOUR_CALM, debug: 'too_many_pings' });
    await peer.closed;
    await expectHealthy(client);
  });

  it('answers a flood of thousands of PINGs in one write the same way, and stays healthy', async () => {
    const { port } = await harness.serve(exampleImplementation);
    const client = harness.client(port);
    const peer = await RawPeer.connect(port);
    await peer.send(...Array.from({ length: 5000 }, () => pingFrame()));
    expect(await peer.waitForGoaway()).toMatchObject({ code: ErrorCode.ENHANCE_YOUR_CALM, debug: 'too_many_pings' });
    await peer.closed;
    await expectHealthy(client);
  });

  it('forgives PINGs answered by responses, as gRPC does (clients measuring bandwidth PING after each response)', async () => {
    const { port } = await harness.serve(exampleImplementation);
    const session = await harness.raw(port);
    let goaway: number | undefined;
    session.on('goaway', (code: number) => (goaway = code));
    for (let i = 0; i < 10; i++) {
      await new Promise<void>((resolve, reject) => session.ping((error) => (error ? reject(error) : resolve())));
      expect(grpcStatus(await rawCall(session, grpcHeaders(UNARY), request(`r${i}`)))).toBe(Status.OK);
    }
    expect(goaway).toBeUndefined();
    expect(session.destroyed).toBe(false);
  });

  it('allows PINGs at keepaliveMinPingIntervalMs, without calls when keepalivePermitWithoutCalls is set', async () => {
    const { port } = await harness.serve(exampleImplementation, { keepaliveMinPingIntervalMs: 20, keepalivePermitWithoutCalls: true });
    const peer = await RawPeer.connect(port);
    for (let i = 0; i < 6; i++) {
      const sentAt = Date.now();
      await pingOnce(peer);
      // Pace the PINGs at the permitted rate (this wait is the client's keepalive interval).
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, 40 - (Date.now() - sentAt))));
    }
    expect(peer.goaway).toBeUndefined();
    expect(peer.received(FrameType.PING)).toHaveLength(6);
    peer.destroy();
  });

  it('without keepalivePermitWithoutCalls, PINGs on a connection without calls are strikes even at the permitted rate', async () => {
    const { port } = await harness.serve(exampleImplementation, { keepaliveMinPingIntervalMs: 20 });
    const peer = await RawPeer.connect(port);
    for (let i = 0; i < 6 && peer.goaway === undefined; i++) {
      const sentAt = Date.now();
      await pingOnce(peer);
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, 40 - (Date.now() - sentAt))));
    }
    expect(peer.goaway).toMatchObject({ code: ErrorCode.ENHANCE_YOUR_CALM, debug: 'too_many_pings' });
    peer.destroy();
  });
});
