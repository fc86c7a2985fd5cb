/**
 * Debian's nginx (`grpc_pass`, HTTP/2 to the upstreams) in front of two GrpcServers, run from
 * deploy/nginx.conf exactly as README shows it: the four call patterns, metadata, errors with
 * rich details, deadlines and cancellation pass through, and calls are balanced round-robin
 * over both replicas. Variants of the same file show what its settings are for.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { lastValueFrom, Observable, Subject, tap, toArray } from 'rxjs';
import { findDetail, GrpcClient, type GrpcClientOptions, type GrpcContext, GrpcError, GrpcServer, Metadata, type MessageStream, packDetail, Status } from '../../lib/index.js';
import { deferred, type Deferred, whenAborted } from '../helpers/harness.js';
import { findNginx, nginxVersion, type RunningNginx, startNginx } from '../helpers/nginx.js';
import { type ExampleReply, type ExampleRequest } from '../helpers/example-service.js';
import { typedExampleStub as exampleStub } from '../helpers/typed-example.js';

const TEMPLATE_PATH = path.resolve('deploy/nginx.conf');
const TEMPLATE = readFileSync(TEMPLATE_PATH, 'utf8');
const nginx = findNginx();

/** Bytes of every binary metadata value, so that base64 of all of them crosses nginx. */
const EVERY_BYTE = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
const UNICODE_MESSAGE = 'Ungültige Eingabe: ✓ 🚀 «quoted» 100%';

/** Where 'hold' calls wait, on every replica, until released: it knows the connection (peer) of each. */
class HoldGate {
  readonly peers: string[] = [];
  readonly released = deferred();
  private waiter: { count: number; reached: () => void } | undefined;

  /** A call arrived from `peer`; resolves when the gate is released. */
  hold(peer: string): Promise<void> {
    this.peers.push(peer);
    if (this.waiter !== undefined && this.peers.length >= this.waiter.count) this.waiter.reached();
    return this.released.promise;
  }

  /** Resolves once `count` calls are held. */
  holding(count: number): Promise<void> {
    if (this.peers.length >= count) return Promise.resolve();
    return new Promise((resolve) => (this.waiter = { count, reached: resolve }));
  }
}

/** One replica: a GrpcServer that names itself in replies and records what its handlers saw. */
class Replica {
  readonly server = new GrpcServer();
  calls = 0;
  readonly peers = new Set<string>();
  lastMetadata: Metadata | undefined;
  /** The connection (nginx's address and port) of every call, in order. */
  readonly peerLog: string[] = [];
  gate = new HoldGate();
  /** Settled with the abort reason of the next handler that waits for its signal. */
  aborted: Deferred<unknown> = deferred<unknown>();
  /** Settled when a handler starts waiting for its signal. */
  waiting: Deferred<void> = deferred();
  port = 0;

  constructor(readonly name: string) {
    const seen = (ctx: GrpcContext) => {
      this.calls += 1;
      this.peers.add(ctx.peer);
      this.peerLog.push(ctx.peer);
      this.lastMetadata = ctx.metadata;
    };
    this.server.addService(exampleStub, {
      unary_unary: async (request: ExampleRequest, ctx: GrpcContext): Promise<ExampleReply> => {
        seen(ctx);
        switch (request.value) {
          case 'metadata':
            ctx.sendInitialMetadata(new Metadata({ 'x-replica': this.name, 'x-echo-bin': ctx.metadata.get('x-bytes-bin') }));
            ctx.trailingMetadata.set('x-trailer-bin', EVERY_BYTE);
            ctx.trailingMetadata.set('x-trailer', 'done');
            return { message: this.name, seqno: 0 };
          case 'error':
            throw new GrpcError(
              Status.FAILED_PRECONDITION,
              UNICODE_MESSAGE,
              [packDetail('ErrorInfo', { reason: 'REPLICA_SAYS_NO', domain: 'example.com', metadata: { replica: this.name } })],
              new Metadata({ 'x-error-bin': EVERY_BYTE }),
            );
          case 'hold':
            await this.gate.hold(ctx.peer);
            return { message: this.name, seqno: 0 };
          case 'wait':
            this.waiting.resolve();
            this.aborted.resolve(await whenAborted(ctx.signal));
            return { message: 'too late', seqno: 0 };
          default:
            return { message: `${this.name}:${request.value}`, seqno: request.multiplier };
        }
      },
      unary_stream: (request: ExampleRequest, ctx: GrpcContext): Observable<ExampleReply> => {
        seen(ctx);
        return new Observable<ExampleReply>((subscriber) => {
          for (let seqno = 1; seqno <= request.multiplier; seqno++) subscriber.next({ message: `${this.name}:${request.value}`, seqno });
          if (request.value === 'then-wait') {
            void whenAborted(ctx.signal).then((reason) => this.aborted.resolve(reason));
            return;
          }
          if (request.value === 'then-fail') subscriber.error(new GrpcError(Status.RESOURCE_EXHAUSTED, UNICODE_MESSAGE));
          else subscriber.complete();
        });
      },
      stream_unary: async (requests: MessageStream<ExampleRequest>, ctx: GrpcContext): Promise<ExampleReply> => {
        seen(ctx);
        let bytes = 0;
        let count = 0;
        for await (const request of requests) {
          bytes += request.value.length;
          count += 1;
        }
        return { message: `${this.name}:${count} messages, ${bytes} bytes`, seqno: count };
      },
      stream_stream: async function* (requests: MessageStream<ExampleRequest>, ctx: GrpcContext): AsyncIterable<ExampleReply> {
        seen(ctx);
        for await (const request of requests) yield { message: request.value.toUpperCase(), seqno: request.multiplier };
      }.bind(this),
    });
  }

  async start(): Promise<string> {
    this.port = await this.server.listen('127.0.0.1:0');
    return `127.0.0.1:${this.port}`;
  }
}

/** Two replicas, nginx in front of them from deploy/nginx.conf (after `edit`), and a GrpcClient of nginx. */
interface Proxied {
  replicas: Replica[];
  front: RunningNginx;
  client: GrpcClient<typeof exampleStub>;
  close(): Promise<void>;
}

async function proxied(binary: string, edit: (template: string) => string = (template) => template): Promise<Proxied> {
  const replicas = [new Replica('A'), new Replica('B')];
  const addresses = await Promise.all(replicas.map((replica) => replica.start()));
  let front: RunningNginx | undefined;
  try {
    front = await startNginx({ binary, template: edit(TEMPLATE), values: { REPLICA_A: addresses[0], REPLICA_B: addresses[1] } });
  } finally {
    if (front === undefined) for (const replica of replicas) replica.server.forceShutdown();
  }
  const client = new GrpcClient(`127.0.0.1:${front.port}`, exampleStub);
  return {
    replicas,
    front,
    client,
    async close() {
      client.close();
      await front.stop();
      for (const replica of replicas) replica.server.forceShutdown();
    },
  };
}

/** The template with one directive's value replaced, or its line removed (`undefined`); the directive must occur exactly once. */
function withDirective(directive: string, value: string | undefined): (template: string) => string {
  return (template) => {
    const pattern = new RegExp(`^( *)${directive} [^;]*;\\n`, 'gm');
    const count = template.match(pattern)?.length ?? 0;
    if (count !== 1) throw new Error(`deploy/nginx.conf has ${count} ${directive} lines, expected 1`);
    return template.replace(pattern, (_line, indent: string) => (value === undefined ? '' : `${indent}${directive} ${value};\n`));
  };
}

/** A request stream of `count` messages of `size` bytes each. */
function bigRequests(count: number, size: number): ExampleRequest[] {
  return Array.from({ length: count }, (_, i) => ({ value: String.fromCharCode(97 + (i % 26)).repeat(size), multiplier: i }));
}

/** The error a promise rejects with (fails the test if it resolves). */
async function failure(promise: Promise<unknown>): Promise<GrpcError> {
  const outcome = await promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!('error' in outcome)) throw new Error(`Expected a failure, got ${JSON.stringify(outcome.value)}`);
  expect(outcome.error).toBeInstanceOf(GrpcError);
  return outcome.error as GrpcError;
}

/** Replies of a ping-pong over stream_stream: each request is sent only once the reply to the previous one has arrived. */
function pingPong(client: GrpcClient<typeof exampleStub>, rounds: number): Promise<string[]> {
  const requests = new Subject<ExampleRequest>();
  const received: string[] = [];
  return new Promise((resolve, reject) => {
    client.stream_stream(requests).subscribe({
      next: (reply) => {
        received.push(reply.message);
        if (reply.seqno + 1 < rounds) requests.next({ value: `ping ${reply.seqno + 1}`, multiplier: reply.seqno + 1 });
        else requests.complete();
      },
      error: reject,
      complete: () => resolve(received),
    });
    requests.next({ value: 'ping 0', multiplier: 0 });
  });
}

/** Callers each making one call after another until stopped, counting successes and keeping failures. */
class CallLoad {
  ok = 0;
  readonly failures: string[] = [];
  private stopped = false;
  private readonly callers: Promise<void>[];
  private waiter: { count: number; reached: () => void } | undefined;

  constructor(call: () => Promise<unknown>, callers: number) {
    this.callers = Array.from({ length: callers }, async () => {
      while (!this.stopped) {
        await call().then(
          () => this.count(),
          (error: unknown) => this.failures.push(String(error)),
        );
      }
    });
  }

  private count(): void {
    this.ok += 1;
    if (this.waiter !== undefined && this.ok >= this.waiter.count) this.waiter.reached();
  }

  /** Resolves once `count` calls in all have succeeded. */
  succeeded(count: number): Promise<void> {
    if (this.ok >= count) return Promise.resolve();
    return new Promise((resolve) => (this.waiter = { count, reached: resolve }));
  }

  /** Lets each caller finish its current call, then stops. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.callers);
  }
}

describe('README', () => {
  it("shows deploy/nginx.conf exactly, in its nginx section", () => {
    const readme = readFileSync(path.resolve('README.md'), 'utf8');
    const blocks = [...readme.matchAll(/^```nginx\n([\s\S]*?)^```$/gm)].map((match) => match[1]);
    expect(blocks).toEqual([TEMPLATE]);
  });
});

if ('missing' in nginx) {
  describe(`nginx in front of two GrpcServers (skipped: ${nginx.missing})`, () => {
    it.skip(`needs nginx: ${nginx.missing}`, () => undefined);
  });
} else {
  const binary = nginx.binary;

  describe(`${nginxVersion(binary)} (grpc_pass, deploy/nginx.conf as it is) in front of two GrpcServers`, () => {
    let setup: Proxied;
    let client: GrpcClient<typeof exampleStub>;
    let replicas: Replica[];

    beforeAll(async () => {
      setup = await proxied(binary);
      ({ client, replicas } = setup);
    });

    afterAll(() => setup?.close());

    beforeEach(() => {
      for (const replica of replicas) replica.aborted = deferred<unknown>();
    });

    it('unary: the reply comes from a replica, which finds the client in X-Forwarded-For', async () => {
      const reply = await client.unary_unary({ value: 'hello', multiplier: 7 });
      expect(reply).toEqual({ message: expect.stringMatching(/^[AB]:hello$/), seqno: 7 });
      const replica = replicas.find((r) => reply.message.startsWith(`${r.name}:`));
      expect(replica?.lastMetadata?.get('x-forwarded-for')).toEqual(['127.0.0.1']);
    });

    it('server streaming: 500 messages in order', async () => {
      const replies = await lastValueFrom(client.unary_stream({ value: 's', multiplier: 500 }).pipe(toArray()));
      expect(replies.map((r) => r.seqno)).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
    });

    it("client streaming: 4 MiB in 64 messages (nginx's default client_max_body_size is 1 MiB)", async () => {
      const reply = await client.stream_unary(bigRequests(64, 64 * 1024));
      expect(reply.message).toMatch(/^[AB]:64 messages, 4194304 bytes$/);
    });

    it('bidirectional streaming: 20 rounds of ping-pong, each request sent only after the previous reply (nginx buffers neither way)', async () => {
      expect(await pingPong(client, 20)).toEqual(Array.from({ length: 20 }, (_, i) => `PING ${i}`));
    });

    it('metadata both ways: repeated keys and -bin values of every byte, initial and trailing', async () => {
      const metadata = new Metadata();
      metadata.add('x-bytes-bin', EVERY_BYTE);
      metadata.add('x-bytes-bin', Buffer.from('héllo', 'utf8'));
      metadata.add('x-plain', 'one');
      const call = client.call.unary_unary({ value: 'metadata', multiplier: 0 }, { metadata });
      const reply = await call.response;
      const replica = replicas.find((r) => r.name === reply.message);
      expect(replica?.lastMetadata?.get('x-bytes-bin')).toEqual([EVERY_BYTE, Buffer.from('héllo', 'utf8')]);
      expect(replica?.lastMetadata?.get('x-plain')).toEqual(['one']);
      const headers = await call.headers;
      expect(headers.get('x-replica')).toEqual([reply.message]);
      expect(headers.get('x-echo-bin')).toEqual([EVERY_BYTE, Buffer.from('héllo', 'utf8')]);
      const trailers = await call.trailers;
      expect(trailers.get('x-trailer-bin')).toEqual([EVERY_BYTE]);
      expect(trailers.get('x-trailer')).toEqual(['done']);
    });

    it('an error in a trailers-only response: code, Unicode message, rich details (grpc-status-details-bin) and -bin trailing metadata', async () => {
      const error = await failure(client.unary_unary({ value: 'error', multiplier: 0 }));
      expect(error.code).toBe(Status.FAILED_PRECONDITION);
      expect(error.message).toBe(UNICODE_MESSAGE);
      expect(findDetail(error, 'ErrorInfo')).toEqual({ reason: 'REPLICA_SAYS_NO', domain: 'example.com', metadata: { replica: expect.stringMatching(/^[AB]$/) } });
      expect(error.metadata.get('x-error-bin')).toEqual([EVERY_BYTE]);
    });

    it('an error after streamed messages: the messages, then the status in the trailers', async () => {
      const seqnos: number[] = [];
      const error = await failure(lastValueFrom(client.unary_stream({ value: 'then-fail', multiplier: 3 }).pipe(tap((r) => seqnos.push(r.seqno)))));
      expect(seqnos).toEqual([1, 2, 3]);
      expect(error.code).toBe(Status.RESOURCE_EXHAUSTED);
      expect(error.message).toBe(UNICODE_MESSAGE);
    });

    it("a deadline: the client gets DEADLINE_EXCEEDED and the replica's handler sees its signal abort", async () => {
      const started = Date.now();
      const error = await failure(client.unary_unary({ value: 'wait', multiplier: 0 }, { timeout: 300 }));
      expect(error.code).toBe(Status.DEADLINE_EXCEEDED);
      expect(Date.now() - started).toBeGreaterThanOrEqual(290);
      const reason = await Promise.race(replicas.map((r) => r.aborted.promise));
      expect((reason as GrpcError).code).toBe(Status.DEADLINE_EXCEEDED);
    });

    it("cancellation: unsubscribing after the first message reaches the replica, whose handler sees its signal abort", async () => {
      const first = deferred();
      const subscription = client.unary_stream({ value: 'then-wait', multiplier: 1 }).subscribe({ next: () => first.resolve() });
      await first.promise;
      subscription.unsubscribe();
      const reason = await Promise.race(replicas.map((r) => r.aborted.promise));
      expect((reason as GrpcError).code).toBe(Status.CANCELLED);
    });

    it('round-robin: 40 sequential calls over one client connection are split 20/20 between the replicas', async () => {
      const before = replicas.map((r) => r.calls);
      for (let i = 0; i < 40; i++) await client.unary_unary({ value: String(i), multiplier: 0 });
      expect(replicas.map((r, i) => r.calls - before[i])).toEqual([20, 20]);
    });

    it('upstream keepalive: 20 sequential calls reuse one connection to each replica', async () => {
      const before = replicas.map((r) => r.peerLog.length);
      for (let i = 0; i < 20; i++) await client.unary_unary({ value: String(i), multiplier: 0 });
      expect(replicas.map((r, i) => new Set(r.peerLog.slice(before[i])).size)).toEqual([1, 1]);
    });

    it('nginx sends one call per upstream connection: 10 calls in flight at once arrive on 10 connections', async () => {
      const gate = new HoldGate();
      for (const replica of replicas) replica.gate = gate;
      const calls = Array.from({ length: 10 }, () => client.unary_unary({ value: 'hold', multiplier: 0 }));
      await gate.holding(10);
      expect(new Set(gate.peers).size).toBe(10);
      gate.released.resolve();
      await Promise.all(calls);
    });

    it('calls past nginx\'s keepalive_requests (1000 per client connection, then GOAWAY) all succeed over a new connection', async () => {
      const results = await Promise.allSettled(Array.from({ length: 1100 }, (_, i) => client.unary_unary({ value: String(i), multiplier: 0 })));
      expect(results.filter((result) => result.status === 'rejected')).toEqual([]);
      // nginx's access log names each call's client connection (its serial number).
      const lines = (await setup.front.accessLog()).slice(-1100);
      expect(new Set(lines.map((line) => /connection=(\d+)/.exec(line)?.[1])).size).toBeGreaterThanOrEqual(2);
    }, 60_000);
  });

  describe('a rolling restart behind nginx', () => {
    let setup: Proxied | undefined;
    afterEach(async () => {
      await setup?.close();
      setup = undefined;
    });

    /** Shuts replica A down gracefully while 8 callers keep calling through nginx; resolves with the failures. */
    async function restartUnderLoad(options: GrpcClientOptions = {}): Promise<{ failures: string[]; replicas: Replica[] }> {
      setup = await proxied(binary);
      const { front, replicas } = setup;
      const client = new GrpcClient(`127.0.0.1:${front.port}`, exampleStub, options);
      try {
        const load = new CallLoad(() => client.unary_unary({ value: 'x', multiplier: 0 }), 8);
        await load.succeeded(200);
        await replicas[0].server.shutdown({ graceMs: 10_000 });
        const drained = replicas.map((r) => r.calls);
        await load.succeeded(load.ok + 200);
        await load.stop();
        // Once A has shut down, every call reaches B.
        expect(replicas[0].calls).toBe(drained[0]);
        expect(replicas[1].calls - drained[1]).toBeGreaterThanOrEqual(200);
        return { failures: load.failures, replicas };
      } finally {
        client.close();
      }
    }

    it('a replica shut down gracefully under load: at most the calls crossing its GOAWAY fail, UNAVAILABLE (nginx answers 502 and retries no call it has sent)', async () => {
      const { failures } = await restartUnderLoad();
      expect(failures.length).toBeLessThanOrEqual(8);
      for (const failure of failures) expect(failure).toBe('GrpcError: UNAVAILABLE: Received HTTP status 502');
      if (failures.length > 0) expect(await setup!.front.errorLog()).toContain('upstream sent goaway');
    });

    it('with a retry policy for UNAVAILABLE in the client\'s service config, no call fails', async () => {
      const { failures } = await restartUnderLoad({
        serviceConfig: {
          methodConfig: [
            {
              name: [{ service: 'nameko.example' }],
              retryPolicy: { maxAttempts: 3, initialBackoff: '0.01s', maxBackoff: '0.1s', backoffMultiplier: 2, retryableStatusCodes: ['UNAVAILABLE'] },
            },
          ],
        },
      });
      expect(failures).toEqual([]);
    });
  });

  describe('what the settings of deploy/nginx.conf are for (the same file with one setting changed)', () => {
    let setup: Proxied | undefined;
    afterEach(async () => {
      await setup?.close();
      setup = undefined;
    });

    it('without client_max_body_size 0, a request stream over 1 MiB is refused with HTTP 413 (UNKNOWN)', async () => {
      setup = await proxied(binary, withDirective('client_max_body_size', undefined));
      const error = await failure(setup.client.stream_unary(bigRequests(32, 64 * 1024)));
      expect(error.code).toBe(Status.UNKNOWN);
      expect(error.message).toContain('413');
      expect(await setup.front.errorLog()).toContain('client intended to send too large');
    });

    it('with a short grpc_read_timeout, a response stream silent for longer is reset by nginx (INTERNAL) and the replica sees the call cancelled; a unary call gets HTTP 504 (UNAVAILABLE)', async () => {
      setup = await proxied(binary, withDirective('grpc_read_timeout', '300ms'));
      const first = deferred();
      const error = await failure(lastValueFrom(setup.client.unary_stream({ value: 'then-wait', multiplier: 1 }).pipe(tap(() => first.resolve()))));
      await first.promise;
      expect(error.code).toBe(Status.INTERNAL);
      await Promise.race(setup.replicas.map((r) => r.aborted.promise));
      expect(await setup.front.errorLog()).toContain('upstream timed out');
      // A unary call waiting longer gets HTTP 504 instead.
      const unary = await failure(setup.client.unary_unary({ value: 'wait', multiplier: 0 }));
      expect(unary.code).toBe(Status.UNAVAILABLE);
      expect(unary.message).toContain('504');
    });

    it('without keepalive in the upstream block, every call opens a new connection to a replica', async () => {
      setup = await proxied(binary, withDirective('keepalive', undefined));
      for (let i = 0; i < 10; i++) await setup.client.unary_unary({ value: String(i), multiplier: 0 });
      expect(setup.replicas.reduce((sum, r) => sum + r.peers.size, 0)).toBe(10);
    });

    it('one header field over large_client_header_buffers closes the whole client connection: an unrelated call in flight on it fails UNAVAILABLE', async () => {
      setup = await proxied(binary);
      // nginx limits a field's length on the wire; '~' has a long Huffman code, so HPACK sends it as it is.
      const accepted = await setup.client.unary_unary({ value: 'a', multiplier: 0 }, { metadata: { 'x-token': '~'.repeat(12_000) } });
      expect(accepted.message).toMatch(/^[AB]:a$/);
      const inFlight = setup.client.unary_unary({ value: 'wait', multiplier: 0 });
      await Promise.race(setup.replicas.map((r) => r.waiting.promise));
      const tooLarge = await failure(setup.client.unary_unary({ value: 'a', multiplier: 0 }, { metadata: { 'x-token': '~'.repeat(20_000) } }));
      expect(tooLarge.code).toBe(Status.UNAVAILABLE);
      expect((await failure(inFlight)).code).toBe(Status.UNAVAILABLE);
    });
  });
}
