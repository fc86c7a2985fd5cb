/**
 * Debian's nginx (`grpc_pass`, HTTP/2 to the upstreams) in front of two GrpcServers, run from
 * deploy/nginx.conf exactly as README shows it: the four call patterns, metadata, errors with
 * rich details, deadlines and cancellation pass through, and calls are balanced round-robin
 * over both replicas. Variants of the same file show what its settings are for.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { lastValueFrom, Subject, tap, toArray } from 'rxjs';
import { findDetail, GrpcClient, type GrpcClientOptions, type GrpcError, type GrpcServerOptions, Metadata, Status } from '../../lib/index.js';
import { failure } from '../helpers/call-failures.js';
import type { ExampleRequest } from '../helpers/example-service.js';
import { deferred } from '../helpers/harness.js';
import { findNginx, nginxVersion, type RunningNginx, startNginx, withDirective } from '../helpers/nginx.js';
import { CallLoad, EVERY_BYTE, HoldGate, Replica, UNICODE_MESSAGE } from '../helpers/replicas.js';
import { typedExampleStub as exampleStub } from '../helpers/typed-example.js';

const TEMPLATE = readFileSync(path.resolve('deploy/nginx.conf'), 'utf8');
const nginx = findNginx();

/** Two replicas, nginx in front of them from deploy/nginx.conf (after `edit`), and a GrpcClient of nginx. */
interface Proxied {
  replicas: Replica[];
  front: RunningNginx;
  client: GrpcClient<typeof exampleStub>;
  close(): Promise<void>;
}

async function proxied(binary: string, edit: (template: string) => string = (template) => template, options: GrpcServerOptions = {}): Promise<Proxied> {
  const replicas = [new Replica('A', options), new Replica('B', options)];
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

/** A request stream of `count` messages of `size` bytes each. */
function bigRequests(count: number, size: number): ExampleRequest[] {
  return Array.from({ length: count }, (_, i) => ({ value: String.fromCharCode(97 + (i % 26)).repeat(size), multiplier: i }));
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

    it("a deadline: grpc-timeout reaches the replica, the client gets DEADLINE_EXCEEDED and the replica's handler sees its signal abort", async () => {
      const started = Date.now();
      const error = await failure(client.unary_unary({ value: 'wait', multiplier: 0 }, { timeout: 300 }));
      expect(error.code).toBe(Status.DEADLINE_EXCEEDED);
      expect(Date.now() - started).toBeGreaterThanOrEqual(290);
      const reason = await Promise.race(replicas.map((r) => r.aborted.promise));
      // The replica's own deadline timer and the client's cancellation (RST_STREAM through nginx) race.
      expect([Status.DEADLINE_EXCEEDED, Status.CANCELLED]).toContain((reason as GrpcError).code);
      // grpc-timeout is relative: the replica's deadline is 300 ms after the call reached it, later by the time spent in nginx.
      const replica = replicas.find((r) => r.lastDeadline !== undefined);
      expect(replica?.lastDeadline!.getTime()).toBeGreaterThan(started + 200);
      expect(replica?.lastDeadline!.getTime()).toBeLessThan(started + 1300);
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

    it("maxConnectionAgeMs on replicas behind nginx fails calls: a call crossing a max_age GOAWAY fails 502, and nginx's passive check (max_fails=1) then takes the healthy replica out for 10 s", async () => {
      setup = await proxied(binary, undefined, { maxConnectionAgeMs: 200 });
      const { client } = setup;
      const load = new CallLoad(() => client.unary_unary({ value: 'x', multiplier: 0 }), 8);
      await load.firstFailure();
      await load.stop();
      expect(load.failures[0]).toBe('GrpcError: UNAVAILABLE: Received HTTP status 502');
      const errors = await setup.front.errorLog();
      expect(errors).toContain('upstream sent goaway');
      expect(errors).toContain('upstream server temporarily disabled');
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
