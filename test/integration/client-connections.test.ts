/**
 * Connection management: lazy connection, `connect()`, round_robin over several targets, a
 * server killed mid-stream (UNAVAILABLE) and restarted on the same port (used by the next call
 * without a new client), GOAWAY (in-flight calls finish, new calls go elsewhere or fail
 * UNAVAILABLE, refused streams are retried), the server's MAX_CONCURRENT_STREAMS respected by
 * queueing, keepalive PINGs, and close()/`await using`.
 */
import * as grpc from '@grpc/grpc-js';
import type http2 from 'node:http2';
import net from 'node:net';
import { lastValueFrom, toArray } from 'rxjs';
import { GrpcClient, GrpcError, GrpcServer, Status } from '../../lib/index.js';
import { exampleImplementation } from '../helpers/example-service.js';
import { grpcJsExampleImplementation, startGrpcJsServer } from '../helpers/grpc-js.js';
import { deferred, type Deferred } from '../helpers/harness.js';
import { deadPort } from '../helpers/loopback-replicas.js';
import { replyFrame, startRawServer, type RawServer } from '../helpers/http2-server.js';
import { typedExampleStub as exampleStub } from '../helpers/typed-example.js';

const REQUEST = { value: 'A', multiplier: 1 };

/** A raw server that answers every call with one reply and OK. */
function startAnsweringRawServer(): Promise<RawServer> {
  return startRawServer((stream) => {
    stream.resume();
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    stream.end(replyFrame('raw', 0));
  });
}

/** Our GrpcServer with the example service on `port` (0 for any). */
async function startOurServer(port = 0, implementation: object = exampleImplementation): Promise<{ server: GrpcServer; port: number }> {
  const server = new GrpcServer();
  server.addService(exampleStub, implementation);
  return { server, port: await server.listen(`127.0.0.1:${port}`) };
}

/** The example service with a unary_stream that sends one reply, resolves `streaming`, and holds the call open until it is cancelled. */
function holdingStream(streaming: Deferred<void>): object {
  return {
    ...exampleImplementation,
    unary_stream(request: { value: string }, context: { signal: AbortSignal }) {
      return (async function* () {
        yield { message: request.value, seqno: 1 };
        streaming.resolve();
        await new Promise((resolve) => context.signal.addEventListener('abort', resolve));
      })();
    },
  };
}

describe('lazy connection and connect()', () => {
  let raw: RawServer;

  beforeAll(async () => {
    raw = await startAnsweringRawServer();
  });

  afterAll(() => raw.close());

  it('a new client does not connect until its first call', async () => {
    const lazy = new GrpcClient(`127.0.0.1:${raw.port}`, exampleStub);
    const before = raw.sessions.length;
    // A second client connects and completes a call: had the first connected eagerly, its
    // connection (started earlier) would have been accepted by now too.
    const other = new GrpcClient(`127.0.0.1:${raw.port}`, exampleStub);
    try {
      await other.unary_unary(REQUEST);
      expect(raw.sessions.length).toBe(before + 1);
      await expect(lazy.unary_unary(REQUEST)).resolves.toEqual({ message: 'raw', seqno: 0 });
      expect(raw.sessions.length).toBe(before + 2);
      // Later calls reuse the connection.
      await Promise.all([lazy.unary_unary(REQUEST), lazy.unary_unary(REQUEST), lazy.unary_unary(REQUEST)]);
      expect(raw.sessions.length).toBe(before + 2);
    } finally {
      lazy.close();
      other.close();
    }
  });

  it('connect() connects now, once; the first call then needs no new connection', async () => {
    const client = new GrpcClient(`127.0.0.1:${raw.port}`, exampleStub);
    try {
      const before = raw.sessions.length;
      await client.connect();
      expect(raw.sessions.length).toBe(before + 1);
      await client.connect();
      await client.unary_unary(REQUEST);
      expect(raw.sessions.length).toBe(before + 1);
    } finally {
      client.close();
    }
  });

  it('connect() rejects UNAVAILABLE for a dead port, and calls fail UNAVAILABLE', async () => {
    const client = new GrpcClient(`127.0.0.1:${await deadPort()}`, exampleStub);
    try {
      const error = await client.connect().catch((failure: unknown) => failure);
      expect(error).toBeInstanceOf(GrpcError);
      expect((error as GrpcError).code).toBe(Status.UNAVAILABLE);
      expect((error as GrpcError).message).toMatch(/ECONNREFUSED/);
      await expect(client.unary_unary(REQUEST)).rejects.toMatchObject({ code: Status.UNAVAILABLE });
      await expect(lastValueFrom(client.unary_stream(REQUEST))).rejects.toMatchObject({ code: Status.UNAVAILABLE });
    } finally {
      client.close();
    }
  });

  it('a connection attempt that gets no HTTP/2 answer fails UNAVAILABLE after connectTimeoutMs', async () => {
    const silent = net.createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const sockets: net.Socket[] = [];
    silent.on('connection', (socket) => sockets.push(socket));
    const client = new GrpcClient(`127.0.0.1:${(silent.address() as net.AddressInfo).port}`, exampleStub, { connectTimeoutMs: 200 });
    try {
      const started = performance.now();
      await expect(client.connect()).rejects.toMatchObject({ code: Status.UNAVAILABLE });
      expect(performance.now() - started).toBeGreaterThanOrEqual(190);
      expect(sockets.length).toBe(1);
    } finally {
      client.close();
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });
});

describe('several targets', () => {
  /** Two grpc-js servers that count the calls each handled, and can hold a call. */
  const counts = [0, 0];
  let held: Deferred<number>;
  let release: Deferred<void>;
  const servers: grpc.Server[] = [];
  const ports: number[] = [];

  beforeAll(async () => {
    for (const index of [0, 1]) {
      const { server, port } = await startGrpcJsServer({
        ...grpcJsExampleImplementation,
        unary_unary(call: grpc.ServerUnaryCall<any, any>, callback: grpc.sendUnaryData<any>) {
          counts[index]++;
          if (call.request.value !== 'hold') return callback(null, { message: `server ${index}`, seqno: index });
          held.resolve(index);
          void release.promise.then(() => callback(null, { message: `held on ${index}`, seqno: index }));
        },
      });
      servers.push(server);
      ports.push(port);
    }
  });

  beforeEach(() => {
    counts.fill(0);
    held = deferred();
    release = deferred();
  });

  afterAll(() => {
    for (const server of servers) server.forceShutdown();
  });

  it('round_robin: calls are spread evenly over the targets', async () => {
    const client = new GrpcClient([`127.0.0.1:${ports[0]}`, `127.0.0.1:${ports[1]}`], exampleStub, { loadBalancingPolicy: 'round_robin' });
    try {
      await client.connect();
      // connect() resolves once one target is Ready; a few calls bring up the other too.
      for (let i = 0; i < 20 && counts[0] + counts[1] < 20; i++) await client.unary_unary(REQUEST);
      counts.fill(0);
      for (let i = 0; i < 20; i++) await client.unary_unary(REQUEST);
      expect(counts).toEqual([10, 10]);
      counts.fill(0);
      await Promise.all(Array.from({ length: 40 }, () => client.unary_unary(REQUEST)));
      expect(counts).toEqual([20, 20]);
    } finally {
      client.close();
    }
  });

  it('a dead target is skipped: every call goes to the live one', async () => {
    const client = new GrpcClient([`127.0.0.1:${await deadPort()}`, `127.0.0.1:${ports[1]}`], exampleStub, { backoff: { initialMs: 60_000 } });
    try {
      const replies = await Promise.all(Array.from({ length: 10 }, () => client.unary_unary(REQUEST)));
      expect(replies.every((reply) => reply.message === 'server 1')).toBe(true);
      expect(counts).toEqual([0, 10]);
    } finally {
      client.close();
    }
  });

  it('GOAWAY: a graceful shutdown lets the in-flight call finish and sends new calls to the other target', async () => {
    const extra = await startGrpcJsServer({
      ...grpcJsExampleImplementation,
      unary_unary(call: grpc.ServerUnaryCall<any, any>, callback: grpc.sendUnaryData<any>) {
        if (call.request.value !== 'hold') return callback(null, { message: 'extra', seqno: 9 });
        held.resolve(9);
        void release.promise.then(() => callback(null, { message: 'held on extra', seqno: 9 }));
      },
    });
    const client = new GrpcClient([`127.0.0.1:${extra.port}`, `127.0.0.1:${ports[0]}`], exampleStub, { loadBalancingPolicy: 'round_robin' });
    try {
      // Bring up both connections, then hold a call on the extra server.
      const seen = new Set<number>();
      for (let i = 0; i < 20 && seen.size < 2; i++) seen.add((await client.unary_unary(REQUEST)).seqno);
      expect(seen).toEqual(new Set([9, 0]));
      let holding: Promise<unknown> | undefined;
      for (let i = 0; i < 4 && holding === undefined; i++) {
        held = deferred();
        const call = client.unary_unary({ value: 'hold', multiplier: 1 });
        const where = await held.promise;
        if (where === 9) holding = call;
        else {
          release.resolve();
          await call;
          release = deferred();
        }
      }
      expect(holding).toBeDefined();
      const shutdown = new Promise<void>((resolve) => extra.server.tryShutdown(() => resolve()));
      counts.fill(0);
      const replies = await Promise.all(Array.from({ length: 10 }, () => client.unary_unary(REQUEST)));
      expect(replies.every((reply) => reply.message === 'server 0')).toBe(true);
      expect(counts[0]).toBe(10);
      release.resolve();
      await expect(holding).resolves.toEqual({ message: 'held on extra', seqno: 9 });
      await shutdown;
    } finally {
      client.close();
      extra.server.forceShutdown();
    }
  });
});

describe('a single target going away', () => {
  it('GOAWAY from the only target: the in-flight call completes, new calls fail UNAVAILABLE', async () => {
    const release = deferred();
    const started = deferred();
    const { server, port } = await startOurServer(0, {
      ...exampleImplementation,
      async unary_unary(request: { value: string }) {
        if (request.value === 'hold') {
          started.resolve();
          await release.promise;
        }
        return { message: request.value, seqno: 0 };
      },
    });
    const client = new GrpcClient(`127.0.0.1:${port}`, exampleStub);
    try {
      const inFlight = client.unary_unary({ value: 'hold', multiplier: 1 });
      await started.promise;
      const shutdown = server.shutdown({ graceMs: 10_000 });
      await expect(client.unary_unary(REQUEST)).rejects.toMatchObject({ code: Status.UNAVAILABLE });
      release.resolve();
      await expect(inFlight).resolves.toEqual({ message: 'hold', seqno: 0 });
      await shutdown;
    } finally {
      client.close();
      server.forceShutdown();
    }
  });

  it('GOAWAY: a call above the last-stream-id is retried on a new connection, the one below it completes', async () => {
    const answer = (stream: http2.ServerHttp2Stream, message: string) => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(replyFrame(message, 0));
    };
    const raw = await startRawServer((stream) => {
      stream.resume();
      if (stream.session !== raw.sessions[0]) return answer(stream, 'retried');
      const first = raw.streams[0].stream;
      if (stream === first) return;
      // The second stream on the first connection: GOAWAY naming the first as the last processed.
      stream.session.goaway(0, first.id);
      answer(first, 'completed');
    });
    const client = new GrpcClient(`127.0.0.1:${raw.port}`, exampleStub);
    try {
      await client.connect();
      const below = client.unary_unary(REQUEST);
      const above = client.unary_unary(REQUEST);
      await expect(below).resolves.toEqual({ message: 'completed', seqno: 0 });
      await expect(above).resolves.toEqual({ message: 'retried', seqno: 0 });
      expect(raw.sessions.length).toBe(2);
      expect(raw.streams.length).toBe(3);
      // Later calls use the new connection.
      await expect(client.unary_unary(REQUEST)).resolves.toEqual({ message: 'retried', seqno: 0 });
      expect(raw.sessions.length).toBe(2);
    } finally {
      client.close();
      await raw.close();
    }
  });

  it('a server killed mid-stream fails the call UNAVAILABLE; a server restarted on the port serves the next call', async () => {
    const streaming = deferred();
    const hang = holdingStream(streaming);
    const first = await startOurServer(0, hang);
    const firstReply = deferred();
    const client = new GrpcClient(`127.0.0.1:${first.port}`, exampleStub, { backoff: { initialMs: 50, maxMs: 100 } });
    try {
      const received: number[] = [];
      const failed = new Promise<unknown>((resolve) =>
        client.unary_stream(REQUEST).subscribe({
          next: (reply) => {
            received.push(reply.seqno);
            firstReply.resolve();
          },
          error: resolve,
          complete: () => resolve(undefined),
        }),
      );
      // Killed once the first reply has arrived: forceShutdown drops what it had not sent yet.
      await Promise.all([streaming.promise, firstReply.promise]);
      first.server.forceShutdown();
      const error = await failed;
      expect(error).toBeInstanceOf(GrpcError);
      expect((error as GrpcError).code).toBe(Status.UNAVAILABLE);
      expect(received).toEqual([1]);

      // While nothing listens, calls fail UNAVAILABLE.
      await expect(client.unary_unary(REQUEST)).rejects.toMatchObject({ code: Status.UNAVAILABLE });

      // A call that waits for ready, made while the server is down, is served once it is back.
      const waiting = client.unary_unary({ value: 'waited', multiplier: 1 }, { waitForReady: true, timeout: 10_000 });
      const second = await startOurServer(first.port);
      try {
        await expect(waiting).resolves.toEqual({ message: 'waited', seqno: 0 });
        await expect(client.unary_unary({ value: 'again', multiplier: 2 })).resolves.toEqual({ message: 'againagain', seqno: 0 });
      } finally {
        second.server.forceShutdown();
      }
    } finally {
      client.close();
      first.server.forceShutdown();
    }
  });

  it('a grpc-js server killed mid-stream fails the call UNAVAILABLE', async () => {
    const streaming = deferred();
    const { server, port } = await startGrpcJsServer({
      ...grpcJsExampleImplementation,
      unary_stream(call: grpc.ServerWritableStream<any, any>) {
        call.write({ message: 'one', seqno: 1 }, () => streaming.resolve());
      },
    });
    const client = new GrpcClient(`127.0.0.1:${port}`, exampleStub);
    try {
      const failed = lastValueFrom(client.unary_stream(REQUEST).pipe(toArray())).catch((error: unknown) => error);
      await streaming.promise;
      server.forceShutdown();
      expect(await failed).toMatchObject({ code: Status.UNAVAILABLE });
    } finally {
      client.close();
    }
  });
});

describe("the server's MAX_CONCURRENT_STREAMS", () => {
  it('20 concurrent calls to a grpc-js server allowing 2 streams all succeed, never more than 2 at once', async () => {
    let active = 0;
    let peak = 0;
    const { server, port } = await startGrpcJsServer(
      {
        ...grpcJsExampleImplementation,
        unary_unary(call: grpc.ServerUnaryCall<any, any>, callback: grpc.sendUnaryData<any>) {
          active++;
          peak = Math.max(peak, active);
          // Answer on a later turn so calls overlap when the client lets them.
          setImmediate(() => {
            active--;
            callback(null, { message: call.request.value, seqno: 0 });
          });
        },
      },
      { 'grpc.max_concurrent_streams': 2 },
    );
    const client = new GrpcClient(`127.0.0.1:${port}`, exampleStub);
    try {
      const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => client.unary_unary({ value: `m${i}`, multiplier: 1 })));
      expect(replies.map((reply) => reply.message)).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`));
      expect(peak).toBe(2);
    } finally {
      client.close();
      server.forceShutdown();
    }
  });

  it('a queued call waits for a free stream, can be cancelled while queued, and keeps its deadline', async () => {
    const release = deferred();
    const started = deferred();
    const server = new GrpcServer({ maxConcurrentStreams: 1 });
    const values: string[] = [];
    server.addService(exampleStub, {
      ...exampleImplementation,
      async unary_unary(request: { value: string }) {
        values.push(request.value);
        if (request.value === 'hold') {
          started.resolve();
          await release.promise;
        }
        return { message: request.value, seqno: 0 };
      },
    });
    const client = new GrpcClient(`127.0.0.1:${await server.listen('127.0.0.1:0')}`, exampleStub);
    try {
      const holding = client.unary_unary({ value: 'hold', multiplier: 1 });
      await started.promise;
      const queued = client.unary_unary({ value: 'queued', multiplier: 1 });
      const cancelled = client.call.unary_unary({ value: 'cancelled', multiplier: 1 });
      const expired = client.unary_unary({ value: 'expired', multiplier: 1 }, { timeout: 100 });
      cancelled.cancel();
      await expect(cancelled.response).rejects.toMatchObject({ code: Status.CANCELLED });
      await expect(expired).rejects.toMatchObject({ code: Status.DEADLINE_EXCEEDED });
      release.resolve();
      await expect(holding).resolves.toMatchObject({ message: 'hold' });
      await expect(queued).resolves.toMatchObject({ message: 'queued' });
      expect(values).toEqual(['hold', 'queued']);
    } finally {
      client.close();
      server.forceShutdown();
    }
  });
});

describe('keepalive', () => {
  it('keepaliveTimeMs sends PINGs on an idle connection', async () => {
    const raw = await startAnsweringRawServer();
    const client = new GrpcClient(`127.0.0.1:${raw.port}`, exampleStub, { keepaliveTimeMs: 30 });
    try {
      await client.connect();
      const session = raw.sessions[0];
      let pings = 0;
      await new Promise<void>((resolve) =>
        session.on('ping', () => {
          if (++pings === 3) resolve();
        }),
      );
      expect(pings).toBe(3);
    } finally {
      client.close();
      await raw.close();
    }
  });
});

/** A TCP proxy to 127.0.0.1:`port` that can be frozen: it then stops forwarding either way, keeping the connections open. */
async function startProxy(port: number): Promise<{ port: number; freeze(): void; close(): void }> {
  const sockets: net.Socket[] = [];
  let frozen = false;
  const proxy = net.createServer((downstream) => {
    const upstream = net.connect(port, '127.0.0.1');
    sockets.push(downstream, upstream);
    for (const [from, to] of [
      [downstream, upstream],
      [upstream, downstream],
    ]) {
      from.on('data', (chunk) => frozen || to.write(chunk));
      from.on('error', () => to.destroy());
      from.on('close', () => to.destroy());
    }
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return {
    port: (proxy.address() as net.AddressInfo).port,
    freeze: () => (frozen = true),
    close: () => {
      for (const socket of sockets) socket.destroy();
      proxy.close();
    },
  };
}

describe('a connection that stops answering', () => {
  it('keepalive: an unanswered PING fails the call in flight UNAVAILABLE after keepaliveTimeoutMs', async () => {
    const streaming = deferred();
    const { server, port } = await startOurServer(0, holdingStream(streaming));
    const proxy = await startProxy(port);
    const client = new GrpcClient(`127.0.0.1:${proxy.port}`, exampleStub, { keepaliveTimeMs: 50, keepaliveTimeoutMs: 200 });
    try {
      const failed = lastValueFrom(client.unary_stream(REQUEST).pipe(toArray())).catch((error: unknown) => error);
      await streaming.promise;
      proxy.freeze();
      const started = performance.now();
      expect(await failed).toMatchObject({ code: Status.UNAVAILABLE });
      expect(performance.now() - started).toBeGreaterThanOrEqual(190);
    } finally {
      client.close();
      proxy.close();
      server.forceShutdown();
    }
  });

  it('reconnection attempts back off exponentially', async () => {
    // Accepts each connection and drops it at once: every attempt fails.
    const attempts: number[] = [];
    const refuser = net.createServer((socket) => {
      attempts.push(performance.now());
      socket.destroy();
    });
    await new Promise<void>((resolve) => refuser.listen(0, '127.0.0.1', resolve));
    const client = new GrpcClient(`127.0.0.1:${(refuser.address() as net.AddressInfo).port}`, exampleStub, {
      backoff: { initialMs: 100, multiplier: 2, jitter: 0, maxMs: 10_000 },
    });
    try {
      // Waits for ready through the failed attempts until its deadline.
      await expect(client.unary_unary(REQUEST, { waitForReady: true, timeout: 1000 })).rejects.toMatchObject({ code: Status.DEADLINE_EXCEEDED });
      // Attempts at about 0, 100, 300 and 700 ms: never sooner, so at most 4 in the second.
      expect(attempts.length).toBeGreaterThanOrEqual(2);
      expect(attempts.length).toBeLessThanOrEqual(4);
      const gaps = attempts.slice(1).map((at, i) => at - attempts[i]);
      gaps.forEach((gap, i) => expect(gap).toBeGreaterThanOrEqual(100 * 2 ** i - 10));
    } finally {
      client.close();
      refuser.close();
    }
  });
});

describe('target forms', () => {
  it('host:port, dns:///host:port, localhost and [::1]:port all reach the server', async () => {
    const v4 = await startOurServer();
    const v6 = new GrpcServer();
    v6.addService(exampleStub, exampleImplementation);
    const v6Port = await v6.listen('[::1]:0');
    const targets = [`127.0.0.1:${v4.port}`, `dns:///127.0.0.1:${v4.port}`, `dns:127.0.0.1:${v4.port}`, `localhost:${v4.port}`, `[::1]:${v6Port}`];
    try {
      for (const target of targets) {
        const client = new GrpcClient(target, exampleStub);
        try {
          await expect(client.unary_unary({ value: 'T', multiplier: 1 })).resolves.toEqual({ message: 'T', seqno: 0 });
        } finally {
          client.close();
        }
      }
      for (const invalid of ['not a target', 'host:port', 'localhost:99999', 'http://localhost:1', '[::1']) {
        expect(() => new GrpcClient(invalid, exampleStub)).toThrow(TypeError);
      }
      expect(() => new GrpcClient([], exampleStub)).toThrow(TypeError);
    } finally {
      v4.server.forceShutdown();
      v6.forceShutdown();
    }
  });
});

describe('close() and await using', () => {
  it('close() is idempotent; calls after it fail UNAVAILABLE; in-flight calls end', async () => {
    const started = deferred();
    const { server, port } = await startOurServer(0, {
      ...exampleImplementation,
      async unary_unary(_request: unknown, context: { signal: AbortSignal }) {
        started.resolve();
        await new Promise((resolve) => context.signal.addEventListener('abort', resolve));
        return { message: 'never', seqno: 0 };
      },
    });
    const client = new GrpcClient(`127.0.0.1:${port}`, exampleStub);
    try {
      const inFlight = client.unary_unary(REQUEST).catch((error: unknown) => error);
      await started.promise;
      client.close();
      client.close();
      const error = await inFlight;
      expect(error).toBeInstanceOf(GrpcError);
      expect([Status.UNAVAILABLE, Status.CANCELLED]).toContain((error as GrpcError).code);
      await expect(client.unary_unary(REQUEST)).rejects.toMatchObject({ code: Status.UNAVAILABLE });
      await expect(client.connect()).rejects.toMatchObject({ code: Status.UNAVAILABLE });
    } finally {
      client.close();
      server.forceShutdown();
    }
  });

  it('`await using` closes the client at the end of the scope', async () => {
    const raw = await startAnsweringRawServer();
    try {
      let escaped: GrpcClient<typeof exampleStub> | undefined;
      {
        await using client = new GrpcClient(`127.0.0.1:${raw.port}`, exampleStub);
        escaped = client;
        await expect(client.unary_unary(REQUEST)).resolves.toEqual({ message: 'raw', seqno: 0 });
        expect(raw.sessions[0].closed || raw.sessions[0].destroyed).toBe(false);
      }
      await expect(escaped.unary_unary(REQUEST)).rejects.toMatchObject({ code: Status.UNAVAILABLE });
      // The connection was closed too.
      await new Promise<void>((resolve) => (raw.sessions[0].destroyed ? resolve() : raw.sessions[0].once('close', () => resolve())));
      expect(typeof escaped[Symbol.asyncDispose]).toBe('function');
    } finally {
      await raw.close();
    }
  });
});
