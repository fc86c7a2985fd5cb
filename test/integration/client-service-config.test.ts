/**
 * What a service config does to calls besides retries: its `timeout` as a deadline (the earlier
 * of it and the call's own), `waitForReady` (calls wait for a connection until their deadline
 * instead of failing UNAVAILABLE; the call option overrides it), message size limits (the lower
 * of the config's and the client's), and a TypeError at construction for an invalid config.
 */
import { GrpcClient, GrpcServer, Status, type ServiceConfig } from '../../lib/index.js';
import { exampleImplementation, exampleStub } from '../helpers/example-service.js';
import { startRawServer, type RawServer } from '../helpers/http2-server.js';
import { typedExampleStub } from '../helpers/typed-example.js';
import { grpcTimeoutMs as timeoutMs, timedFailure } from '../helpers/call-failures.js';

const R = (value: string) => ({ value, multiplier: 1 });

/** A config naming nameko.example's unary_unary only. */
function forUnary(fields: Omit<NonNullable<ServiceConfig['methodConfig']>[number], 'name'>): ServiceConfig {
  return { methodConfig: [{ name: [{ service: 'nameko.example', method: 'unary_unary' }], ...fields }] };
}

/** A port nothing listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const raw = await startRawServer();
  await raw.close();
  return raw.port;
}

describe('timeout', () => {
  let raw: RawServer;
  beforeAll(async () => {
    raw = await startRawServer(); // never answers
  });
  afterAll(() => raw.close());

  it('is the deadline of a call without one, sent as grpc-timeout; other methods get none', async () => {
    const client = new GrpcClient(`127.0.0.1:${raw.port}`, typedExampleStub, { serviceConfig: forUnary({ timeout: '0.2s' }) });
    try {
      const seen = raw.nextStream();
      const { error, elapsed } = await timedFailure(() => client.unary_unary(R('a')));
      expect(error.code).toBe(Status.DEADLINE_EXCEEDED);
      expect(elapsed).toBeGreaterThanOrEqual(190);
      expect(elapsed).toBeLessThan(2000);
      expect(timeoutMs(String((await seen).headers['grpc-timeout']))).toBeLessThanOrEqual(200);
      const other = raw.nextStream();
      const call = client.call.stream_unary([R('a')]);
      expect((await other).headers['grpc-timeout']).toBeUndefined();
      call.cancel();
    } finally {
      client.close();
    }
  });

  it('the earlier of the call timeout and the config timeout applies', async () => {
    const client = new GrpcClient(`127.0.0.1:${raw.port}`, typedExampleStub, { serviceConfig: forUnary({ timeout: '0.3s' }) });
    try {
      const earlier = raw.nextStream();
      expect((await timedFailure(() => client.unary_unary(R('a'), { timeout: 100 }))).elapsed).toBeLessThan(290);
      expect(timeoutMs(String((await earlier).headers['grpc-timeout']))).toBeLessThanOrEqual(100);
      const later = raw.nextStream();
      const { error, elapsed } = await timedFailure(() => client.unary_unary(R('a'), { timeout: 60_000 }));
      expect(error.code).toBe(Status.DEADLINE_EXCEEDED);
      expect(elapsed).toBeLessThan(5000);
      expect(timeoutMs(String((await later).headers['grpc-timeout']))).toBeLessThanOrEqual(300);
    } finally {
      client.close();
    }
  });
});

describe('waitForReady', () => {
  it('from the config: a call waits through failed connection attempts until its deadline; the call option overrides it', async () => {
    const port = await closedPort();
    const client = new GrpcClient(`127.0.0.1:${port}`, typedExampleStub, {
      serviceConfig: forUnary({ waitForReady: true }),
      backoff: { initialMs: 20, maxMs: 50 },
    });
    try {
      const { error, elapsed } = await timedFailure(() => client.unary_unary(R('a'), { timeout: 300 }));
      expect(error.code).toBe(Status.DEADLINE_EXCEEDED);
      expect(elapsed).toBeGreaterThanOrEqual(290);
      // Fail fast: by call option, and for a method the config does not name.
      expect((await timedFailure(() => client.unary_unary(R('a'), { timeout: 5000, waitForReady: false }))).error.code).toBe(Status.UNAVAILABLE);
      expect((await timedFailure(() => client.stream_unary([R('a')], { timeout: 5000 }))).error.code).toBe(Status.UNAVAILABLE);
    } finally {
      client.close();
    }
  });

  it('a waiting call is served once the server comes up', async () => {
    const port = await closedPort();
    const client = new GrpcClient(`127.0.0.1:${port}`, typedExampleStub, {
      serviceConfig: forUnary({ waitForReady: true, timeout: '20s' }),
      backoff: { initialMs: 20, maxMs: 100 },
    });
    const server = new GrpcServer();
    server.addService(exampleStub, exampleImplementation);
    try {
      await expect(client.stream_unary([R('a')])).rejects.toMatchObject({ code: Status.UNAVAILABLE });
      const waiting = client.unary_unary(R('waited'));
      await server.listen(`127.0.0.1:${port}`);
      await expect(waiting).resolves.toEqual({ message: 'waited', seqno: 0 });
    } finally {
      client.close();
      server.forceShutdown();
    }
  });

  it('a call waiting for ready without a deadline ends when it is cancelled, or when the client closes', async () => {
    const port = await closedPort();
    const client = new GrpcClient(`127.0.0.1:${port}`, typedExampleStub, { serviceConfig: forUnary({ waitForReady: true }), backoff: { initialMs: 20, maxMs: 50 } });
    try {
      const call = client.call.unary_unary(R('a'));
      const waiting = client.unary_unary(R('b'));
      // Both are still waiting once a fail-fast call has seen the connection fail.
      expect((await timedFailure(() => client.unary_unary(R('c'), { waitForReady: false }))).error.code).toBe(Status.UNAVAILABLE);
      call.cancel();
      expect((await call.status).code).toBe(Status.CANCELLED);
      client.close();
      expect((await timedFailure(() => waiting)).error.code).toBe(Status.UNAVAILABLE);
    } finally {
      client.close();
    }
  });
});

describe('message size limits', () => {
  let server: GrpcServer;
  let port: number;
  beforeAll(async () => {
    server = new GrpcServer();
    server.addService(exampleStub, exampleImplementation);
    port = await server.listen('127.0.0.1:0');
  });
  afterAll(() => server.forceShutdown());

  it('maxResponseMessageBytes lowers the receive limit of the methods it names', async () => {
    const client = new GrpcClient(`127.0.0.1:${port}`, typedExampleStub, { serviceConfig: forUnary({ maxResponseMessageBytes: 100 }) });
    try {
      expect((await timedFailure(() => client.unary_unary(R('x'.repeat(200))))).error.code).toBe(Status.RESOURCE_EXHAUSTED);
      await expect(client.unary_unary(R('x'.repeat(50)))).resolves.toMatchObject({ seqno: 0 });
      await expect(client.stream_unary([R('x'.repeat(200))])).resolves.toMatchObject({ seqno: 0 });
    } finally {
      client.close();
    }
  });

  it('maxRequestMessageBytes lowers the send limit; the lower of it and the client option applies', async () => {
    const client = new GrpcClient(`127.0.0.1:${port}`, typedExampleStub, { serviceConfig: forUnary({ maxRequestMessageBytes: 100 }) });
    const stricter = new GrpcClient(`127.0.0.1:${port}`, typedExampleStub, { serviceConfig: forUnary({ maxRequestMessageBytes: 100 }), maxSendMessageSize: 50 });
    try {
      const { error } = await timedFailure(() => client.unary_unary(R('x'.repeat(200))));
      expect(error.code).toBe(Status.RESOURCE_EXHAUSTED);
      expect(error.message).toMatch(/vs\. 100\)/);
      expect((await timedFailure(() => stricter.unary_unary(R('x'.repeat(70))))).error.message).toMatch(/vs\. 50\)/);
      await expect(client.unary_unary(R('x'.repeat(70)))).resolves.toMatchObject({ seqno: 0 });
    } finally {
      client.close();
      stricter.close();
    }
  });
});

describe('an invalid service config', () => {
  it('makes the constructor throw a TypeError naming the field', () => {
    expect(() => new GrpcClient('127.0.0.1:1', typedExampleStub, { serviceConfig: forUnary({ timeout: '5 seconds' }) })).toThrow(
      new TypeError('Invalid service config: methodConfig[0].timeout must be a duration like "1.5s" (seconds with up to 9 decimals and an "s"; got "5 seconds")'),
    );
    expect(() => new GrpcClient('127.0.0.1:1', typedExampleStub, { serviceConfig: '{"retryThrottling": {"maxTokens": 10}}' })).toThrow(
      'Invalid service config: retryThrottling.tokenRatio must be a number greater than 0 (got undefined)',
    );
  });
});

describe('the load-balancing policy', () => {
  it("is the config's when the loadBalancingPolicy option is not set, and the option's when it is", async () => {
    const servers = [new GrpcServer(), new GrpcServer()];
    const ports: number[] = [];
    for (const [index, server] of servers.entries()) {
      server.addService(exampleStub, { ...exampleImplementation, unary_unary: () => ({ message: 'which', seqno: index }) });
      ports.push(await server.listen('127.0.0.1:0'));
    }
    const targets = ports.map((port) => `127.0.0.1:${port}`);
    const serviceConfig = JSON.stringify({ loadBalancingConfig: [{ grpclb: {} }, { round_robin: {} }] });
    const spread = new GrpcClient(targets, typedExampleStub, { serviceConfig });
    const pinned = new GrpcClient(targets, typedExampleStub, { serviceConfig, loadBalancingPolicy: 'pick_first' });
    try {
      const reached = new Set<number>();
      for (let i = 0; i < 200 && reached.size < 2; i++) reached.add((await spread.unary_unary(R('a'))).seqno);
      expect(reached).toEqual(new Set([0, 1]));
      const pinnedTo = new Set<number>();
      for (let i = 0; i < 20; i++) pinnedTo.add((await pinned.unary_unary(R('a'))).seqno);
      expect(pinnedTo).toEqual(new Set([0]));
    } finally {
      spread.close();
      pinned.close();
      for (const server of servers) server.forceShutdown();
    }
  });
});
