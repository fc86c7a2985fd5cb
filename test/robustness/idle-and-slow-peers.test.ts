/**
 * Issue 9, item 10: idle and slow peers, which node:http2 by default holds forever. Idle
 * connections (maxConnectionIdleMs), connections that never finish the HTTP/2 handshake,
 * streams that open and never send, connection age (maxConnectionAgeMs and its grace), and
 * keepalive PINGs detecting a dead peer on the server and on the client.
 */
import http2 from 'node:http2';
import net from 'node:net';
import { GrpcClient, type GrpcContext, GrpcError, Status } from '../../lib/index.js';
import { type ExampleRequest, exampleImplementation, exampleStub } from '../helpers/example-service.js';
import { dataFrame, ErrorCode, FrameType, grpcRequestBlock, headersFrame, RawPeer, startRawH2Server } from '../helpers/h2-frames.js';
import { deferred, expectHealthy, Harness, whenAborted } from '../helpers/harness.js';
import { replyFrame, startRawServer } from '../helpers/http2-server.js';
import { connectRaw, grpcHeaders, grpcMessage, grpcStatus, isTrailersOnly, rawCall, startRaw, exampleRequestFrame as request } from '../helpers/raw-http2.js';


/** Resolves with the session's first GOAWAY: code and debug data. */
function goawayOf(session: http2.ClientHttp2Session): Promise<{ code: number; debug: string }> {
  return new Promise((resolve) =>
    session.once('goaway', (code: number, _lastStreamId: number, data?: Buffer) => resolve({ code, debug: data?.toString() ?? '' })),
  );
}

const closed = (session: http2.ClientHttp2Session) => new Promise<void>((resolve) => (session.closed && session.destroyed ? resolve() : session.once('close', () => resolve())));

/** unary_stream calls wait until `release` resolves or they are aborted, reporting how they ended. */
function holding() {
  const release = deferred();
  const started = deferred<GrpcContext>();
  const ended = deferred<unknown>();
  return {
    release,
    started,
    ended,
    implementation: {
      ...exampleImplementation,
      async *unary_stream(_request: ExampleRequest, ctx: GrpcContext) {
        started.resolve(ctx);
        await Promise.race([release.promise, whenAborted(ctx.signal)]);
        ended.resolve(ctx.signal.aborted ? ctx.signal.reason : 'released');
        yield { message: 'released', seqno: 1 };
      },
    },
  };
}

describe('idle connections', () => {
  const harness = new Harness();
  afterEach(() => harness.close());

  it('closes a connection without calls after maxConnectionIdleMs with GOAWAY(NO_ERROR, max_idle); clients reconnect', async () => {
    const { port } = await harness.serve(exampleImplementation, { maxConnectionIdleMs: 100 });
    const session = await connectRaw(port);
    const goaway = goawayOf(session);
    expect(grpcStatus(await rawCall(session, grpcHeaders('/nameko.example/unary_unary'), request('a')))).toBe(Status.OK);
    await expect(goaway).resolves.toEqual({ code: ErrorCode.NO_ERROR, debug: 'max_idle' });
    await closed(session);
    // grpc-js treats it as an ordinary GOAWAY: its next call opens a new connection.
    const client = harness.client(port);
    await expectHealthy(client);
  });

  it('keeps a connection with a call in flight open past maxConnectionIdleMs, and closes it once idle', async () => {
    const { release, started, implementation } = holding();
    const { port } = await harness.serve(implementation, { maxConnectionIdleMs: 50 });
    const session = await connectRaw(port);
    let goawayAt: number | undefined;
    session.once('goaway', () => (goawayAt = Date.now()));
    const call = rawCall(session, grpcHeaders('/nameko.example/unary_stream'), request('a'));
    await started.promise;
    // Observe the connection for several idle periods while the call runs.
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(goawayAt).toBeUndefined();
    release.resolve();
    expect(grpcStatus(await call)).toBe(Status.OK);
    await closed(session);
    expect(goawayAt).toBeDefined();
  });

  it('drops a TCP connection that never sends the HTTP/2 preface after handshakeTimeoutMs', async () => {
    const { port } = await harness.serve(exampleImplementation, { handshakeTimeoutMs: 100, maxConnectionIdleMs: Infinity });
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.resume();
    const startedAt = Date.now();
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(90);
  });

  it('drops a peer that sends the preface but never acknowledges the SETTINGS (keeping the server from enforcing them)', async () => {
    const { port } = await harness.serve(exampleImplementation, { handshakeTimeoutMs: 100, maxConnectionIdleMs: Infinity });
    const peer = await RawPeer.connect(port, { ackSettings: false });
    await peer.closed;
    const polite = await RawPeer.connect(port);
    await polite.ready();
    // Observe it past the handshake timeout.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(polite.isClosed).toBe(false);
    polite.destroy();
  });
});

describe('streams that open and never send', () => {
  const harness = new Harness();
  afterEach(() => harness.close());

  it.each([
    ['no request message at all', [] as Buffer[]],
    ['half a request message', [request('abcdef').subarray(0, 6)]],
    ['a whole message but no end of stream', [request('abc')]],
  ])('fails a unary-request call with %s DEADLINE_EXCEEDED after requestMessageTimeoutMs, without running the handler', async (_name, body) => {
    let ran = false;
    const { port } = await harness.serve(
      {
        unary_unary() {
          ran = true;
          return { message: 'ran', seqno: 0 };
        },
      },
      { requestMessageTimeoutMs: 100 },
    );
    const session = await connectRaw(port);
    const call = startRaw(session, grpcHeaders('/nameko.example/unary_unary'));
    for (const chunk of body) call.stream.write(chunk);
    const startedAt = Date.now();
    const response = await call.response;
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(90);
    expect(grpcStatus(response)).toBe(Status.DEADLINE_EXCEEDED);
    expect(grpcMessage(response)).toMatch(/did not arrive within 100 ms/);
    expect(isTrailersOnly(response)).toBe(true);
    expect(ran).toBe(false);
    session.destroy();
  });

  it("a client's own shorter deadline applies first", async () => {
    const { port } = await harness.serve(exampleImplementation, { requestMessageTimeoutMs: 60_000 });
    const session = await connectRaw(port);
    const call = startRaw(session, grpcHeaders('/nameko.example/unary_unary', { 'grpc-timeout': '50m' }));
    expect(grpcStatus(await call.response)).toBe(Status.DEADLINE_EXCEEDED);
    session.destroy();
  });
});

describe('connection age', () => {
  const harness = new Harness();
  afterEach(() => harness.close());

  it('sends GOAWAY(NO_ERROR, max_age) after maxConnectionAgeMs; a call in flight finishes within the grace', async () => {
    const { release, started, implementation } = holding();
    const { port } = await harness.serve(implementation, { maxConnectionAgeMs: 100, maxConnectionAgeGraceMs: 10_000 });
    const session = await connectRaw(port);
    const goaway = goawayOf(session);
    const call = rawCall(session, grpcHeaders('/nameko.example/unary_stream'), request('a'));
    await started.promise;
    await expect(goaway).resolves.toEqual({ code: ErrorCode.NO_ERROR, debug: 'max_age' });
    release.resolve();
    expect(grpcStatus(await call)).toBe(Status.OK);
    await closed(session);
  });

  it('cancels calls still running when maxConnectionAgeGraceMs ends, and closes the connection', async () => {
    const { started, ended, implementation } = holding();
    const { port } = await harness.serve(implementation, { maxConnectionAgeMs: 50, maxConnectionAgeGraceMs: 100 });
    const session = await connectRaw(port);
    const call = rawCall(session, grpcHeaders('/nameko.example/unary_stream'), request('a'));
    await started.promise;
    const reason = await ended.promise;
    expect(reason).toBeInstanceOf(GrpcError);
    expect((reason as GrpcError).code).toBe(Status.CANCELLED);
    const response = await call;
    expect(grpcStatus(response)).toBeUndefined();
    await closed(session);
  });

  it('GrpcClient moves to a new connection after a max_age GOAWAY', async () => {
    const peers: string[] = [];
    const { port } = await harness.serve(
      {
        unary_unary(_request: ExampleRequest, ctx: GrpcContext) {
          peers.push(ctx.peer);
          return { message: 'ok', seqno: 0 };
        },
      },
      { maxConnectionAgeMs: 100 },
    );
    const client = new GrpcClient(`127.0.0.1:${port}`, exampleStub);
    try {
      await client.unary_unary({ value: 'a' });
      // Calls until one lands on a new connection; each waits for the previous, the loop is bounded.
      for (let i = 0; i < 200 && new Set(peers).size < 2; i++) {
        await client.unary_unary({ value: 'b' });
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(new Set(peers).size).toBe(2);
    } finally {
      client.close();
    }
  });
});

describe('keepalive PINGs detect a dead peer', () => {
  const harness = new Harness();
  afterEach(() => harness.close());

  it('server: a peer that stops answering PINGs is dropped after keepaliveTimeMs + keepaliveTimeoutMs; its calls are cancelled', async () => {
    const { started, ended, implementation } = holding();
    const { port } = await harness.serve(implementation, { keepaliveTimeMs: 50, keepaliveTimeoutMs: 100 });
    const dead = await RawPeer.connect(port, { answerPings: false });
    await dead.send(headersFrame(1, grpcRequestBlock('/nameko.example/unary_stream')), dataFrame(1, request('a'), true));
    await started.promise;
    const reason = await ended.promise;
    expect((reason as GrpcError).code).toBe(Status.CANCELLED);
    await dead.closed;
    expect(dead.received(FrameType.PING).length).toBeGreaterThanOrEqual(1);
  });

  it('server: a peer that answers keeps its connection through many keepalive rounds', async () => {
    const { port } = await harness.serve(exampleImplementation, { keepaliveTimeMs: 20, keepaliveTimeoutMs: 100, maxConnectionIdleMs: Infinity });
    const alive = await RawPeer.connect(port);
    await alive.waitFor(() => alive.received(FrameType.PING).length >= 5, 'five keepalive PINGs');
    expect(alive.isClosed).toBe(false);
    expect(alive.goaway).toBeUndefined();
    alive.destroy();
  });

  it('client: a GOAWAY(ENHANCE_YOUR_CALM, too_many_pings) doubles keepaliveTimeMs for the next connection', async () => {
    const raw = await startRawServer((stream) => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(replyFrame('ok'));
    });
    // Each connection: the times of its PINGs; the third is answered with GOAWAY too_many_pings.
    const pingTimes: number[][] = [];
    const calmedDown = [deferred(), deferred()];
    raw.server.on('session', (session: http2.ServerHttp2Session) => {
      const times: number[] = [];
      const index = pingTimes.push(times) - 1;
      session.on('ping', () => {
        times.push(Date.now());
        if (times.length === 3) {
          session.goaway(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM, 0, Buffer.from('too_many_pings'));
          session.destroy(new Error('too many pings'), http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
          calmedDown[index]?.resolve();
        }
      });
    });
    const client = new GrpcClient(`127.0.0.1:${raw.port}`, exampleStub, { keepaliveTimeMs: 25 });
    try {
      for (const connection of [0, 1]) {
        await client.unary_unary({ value: 'a' });
        await calmedDown[connection].promise;
      }
      const gaps = pingTimes.map((times) => times[2] - times[1]);
      expect(gaps[0]).toBeGreaterThanOrEqual(20);
      expect(gaps[1]).toBeGreaterThanOrEqual(45);
    } finally {
      client.close();
      await raw.close();
    }
  });

  it('client: a server that stops answering PINGs fails the call in flight UNAVAILABLE; the next call reconnects', async () => {
    const server = await startRawH2Server({ answerPings: false });
    const client = new GrpcClient(`127.0.0.1:${server.port}`, exampleStub, { keepaliveTimeMs: 50, keepaliveTimeoutMs: 100 });
    try {
      const startedAt = Date.now();
      // The raw server never answers the call; only keepalive can end it (there is no deadline).
      const error = await client.unary_unary({ value: 'a' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(GrpcError);
      expect((error as GrpcError).code).toBe(Status.UNAVAILABLE);
      expect(Date.now() - startedAt).toBeGreaterThanOrEqual(140);
      expect(server.peers[0].received(FrameType.PING).length).toBeGreaterThanOrEqual(1);
      const reconnected = server.nextPeer();
      const next = client.unary_unary({ value: 'b' }, { timeout: 2000 }).catch((e: unknown) => e);
      await reconnected;
      expect(server.peers).toHaveLength(2);
      await next;
    } finally {
      client.close();
      await server.close();
    }
  });
});
