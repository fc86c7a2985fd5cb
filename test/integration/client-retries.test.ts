/**
 * Retries per gRFC A6 against real servers on port 0: the four call patterns retried with their
 * requests replayed, non-retryable codes and committed calls (response headers, a response
 * message) not retried, maxAttempts capped at 5, throttling, the per-call replay buffer,
 * interceptors run once per call, and `retries: false`.
 */
import { lastValueFrom, of, toArray } from 'rxjs';
import { GrpcClient, GrpcError, GrpcServer, Metadata, Status, type GrpcClientOptions, type ServiceConfig } from '../../lib/index.js';
import { exampleStub } from '../helpers/example-service.js';
import { FlakyService } from '../helpers/flaky-service.js';
import { typedExampleStub } from '../helpers/typed-example.js';
import { failure } from '../helpers/call-failures.js';

/** A service config retrying UNAVAILABLE and RESOURCE_EXHAUSTED on every method, with short backoffs. */
function retryConfig(retryPolicy: Partial<NonNullable<ServiceConfig['methodConfig']>[number]['retryPolicy']> = {}, extra: ServiceConfig = {}): ServiceConfig {
  return {
    methodConfig: [
      {
        name: [{}],
        retryPolicy: {
          maxAttempts: 5,
          initialBackoff: '0.01s',
          maxBackoff: '0.05s',
          backoffMultiplier: 2,
          retryableStatusCodes: ['UNAVAILABLE', 'RESOURCE_EXHAUSTED'],
          ...retryPolicy,
        },
      },
    ],
    ...extra,
  };
}

let server: GrpcServer;
let port: number;
let flaky: FlakyService;
const clients: Array<{ close(): void }> = [];

function client(options: GrpcClientOptions = {}) {
  const made = new GrpcClient(`127.0.0.1:${port}`, typedExampleStub, { serviceConfig: retryConfig(), ...options });
  clients.push(made);
  return made;
}

const R = (value: string) => ({ value, multiplier: 1 });

beforeAll(async () => {
  flaky = new FlakyService();
  server = new GrpcServer();
  server.addService(exampleStub, flaky.implementation());
  port = await server.listen('127.0.0.1:0');
});

afterEach(() => {
  for (const made of clients.splice(0)) made.close();
});

afterAll(() => server.forceShutdown());

describe('the four call patterns are retried, their requests sent again', () => {
  it('unary: two UNAVAILABLE attempts, the third succeeds', async () => {
    const { id, metadata } = flaky.call(2);
    await expect(client().unary_unary(R('a'), { metadata })).resolves.toEqual({ message: 'a', seqno: 3 });
    expect(flaky.attempts.get(id)!.map((attempt) => attempt.requests)).toEqual([['a'], ['a'], ['a']]);
  });

  it('server streaming: the messages of the successful attempt only', async () => {
    const { id, metadata } = flaky.call(2, Status.RESOURCE_EXHAUSTED);
    const replies = await lastValueFrom(client().unary_stream(R('b'), { metadata }).pipe(toArray()));
    expect(replies).toEqual([{ message: 'b', seqno: 1 }, { message: 'b', seqno: 2 }]);
    expect(flaky.count(id)).toBe(3);
  });

  it('client streaming: every attempt gets every request (an Iterable, an Observable, an AsyncIterable)', async () => {
    const c = client();
    async function* generated() {
      yield R('x');
      yield R('y');
    }
    for (const requests of [[R('x'), R('y')], of(R('x'), R('y')), generated()]) {
      const { id, metadata } = flaky.call(2);
      await expect(c.stream_unary(requests, { metadata })).resolves.toEqual({ message: 'x,y', seqno: 0 });
      expect(flaky.attempts.get(id)!.map((attempt) => attempt.requests)).toEqual([['x', 'y'], ['x', 'y'], ['x', 'y']]);
    }
  });

  it('bidirectional streaming: the responses of the successful attempt, every attempt got every request', async () => {
    const { id, metadata } = flaky.call(1);
    const replies = await lastValueFrom(client().stream_stream([R('p'), R('q'), R('r')], { metadata }).pipe(toArray()));
    expect(replies.map((reply) => reply.message)).toEqual(['p', 'q', 'r']);
    expect(flaky.attempts.get(id)!.map((attempt) => attempt.requests)).toEqual([['p', 'q', 'r'], ['p', 'q', 'r']]);
  });

  it('the call object sees only the final attempt: its headers, status and trailers', async () => {
    const { metadata } = flaky.call(1);
    const call = client().call.unary_unary(R('h'), { metadata });
    await expect(call.response).resolves.toEqual({ message: 'h', seqno: 2 });
    expect((await call.status).code).toBe(Status.OK);
  });
});

describe('what is not retried', () => {
  it('a status not in retryableStatusCodes', async () => {
    const { id, metadata } = flaky.call(3, Status.INVALID_ARGUMENT);
    expect((await failure(client().unary_unary(R('a'), { metadata }))).code).toBe(Status.INVALID_ARGUMENT);
    expect(flaky.count(id)).toBe(1);
  });

  it('a call whose response headers arrived (committed), even with a retryable status', async () => {
    const { id, metadata } = flaky.call(3, Status.UNAVAILABLE, 'after-headers');
    const call = client().call.unary_unary(R('a'), { metadata });
    expect((await call.headers).first('x-sent')).toBe('headers');
    expect((await failure(call.response)).code).toBe(Status.UNAVAILABLE);
    expect(flaky.count(id)).toBe(1);
  });

  it('a response stream that delivered a message', async () => {
    const { id, metadata } = flaky.call(3, Status.UNAVAILABLE, 'after-message');
    const received: string[] = [];
    const error = await new Promise<unknown>((resolve) =>
      client().unary_stream(R('a'), { metadata }).subscribe({ next: (reply) => received.push(reply.message), error: resolve, complete: () => resolve(undefined) }),
    );
    expect((error as GrpcError).code).toBe(Status.UNAVAILABLE);
    expect(received).toEqual(['first']);
    expect(flaky.count(id)).toBe(1);
  });

  it('more than 5 attempts: maxAttempts 10 counts as 5', async () => {
    const { id, metadata } = flaky.call(100);
    expect((await failure(client({ serviceConfig: retryConfig({ maxAttempts: 10 }) }).unary_unary(R('a'), { metadata }))).code).toBe(Status.UNAVAILABLE);
    expect(flaky.count(id)).toBe(5);
  });

  it('maxAttempts 2: one retry, then the last status', async () => {
    const { id, metadata } = flaky.call(100, Status.RESOURCE_EXHAUSTED);
    const error = await failure(client({ serviceConfig: retryConfig({ maxAttempts: 2 }) }).unary_unary(R('a'), { metadata }));
    expect(error.code).toBe(Status.RESOURCE_EXHAUSTED);
    expect(error.message).toBe('failing on purpose');
    expect(flaky.count(id)).toBe(2);
  });

  it('a method the config does not name, and every call of a client with retries: false', async () => {
    const narrow = client({ serviceConfig: { methodConfig: [{ name: [{ service: 'nameko.example', method: 'unary_stream' }], retryPolicy: retryConfig().methodConfig![0].retryPolicy }] } });
    const first = flaky.call(1);
    await failure(narrow.unary_unary(R('a'), { metadata: first.metadata }));
    expect(flaky.count(first.id)).toBe(1);
    const second = flaky.call(1);
    await failure(client({ retries: false }).unary_unary(R('a'), { metadata: second.metadata }));
    expect(flaky.count(second.id)).toBe(1);
  });

  it('a request stream that outgrew the per-call buffer; one within it is retried', async () => {
    const c = client({ retryBufferBytesPerCall: 1000 });
    const big = Array.from({ length: 5 }, (_, i) => R(`${i}`.repeat(300)));
    const over = flaky.call(1);
    expect((await failure(c.stream_unary(big, { metadata: over.metadata }))).code).toBe(Status.UNAVAILABLE);
    expect(flaky.count(over.id)).toBe(1);
    expect(flaky.attempts.get(over.id)![0].requests).toHaveLength(5);
    const within = flaky.call(1);
    await expect(c.stream_unary(big.slice(0, 2), { metadata: within.metadata })).resolves.toMatchObject({ seqno: 0 });
    expect(flaky.count(within.id)).toBe(2);
  });

  it("a request stream that outgrew the client's total retry buffer", async () => {
    const c = client({ retryBufferBytes: 500 });
    const over = flaky.call(1);
    await failure(lastValueFrom(c.stream_stream([R('a'.repeat(300)), R('b'.repeat(300))], { metadata: over.metadata })));
    expect(flaky.count(over.id)).toBe(1);
    // The buffer was given back: a small call is retried again.
    const small = flaky.call(1);
    await expect(lastValueFrom(c.stream_stream([R('c')], { metadata: small.metadata }).pipe(toArray()))).resolves.toHaveLength(1);
    expect(flaky.count(small.id)).toBe(2);
  });
});

describe('pushback sent by our server', () => {
  /** A server failing the first attempt of each call UNAVAILABLE with `grpc-retry-pushback-ms: pushback`; it records when attempts arrive. */
  async function pushbackServer(pushback: string) {
    const arrivals: number[] = [];
    const pushing = new GrpcServer();
    pushing.addService(exampleStub, {
      unary_unary: (request: { value: string }) => {
        arrivals.push(Date.now());
        if (arrivals.length === 1) {
          throw new GrpcError(Status.UNAVAILABLE, 'busy', undefined, new Metadata({ 'grpc-retry-pushback-ms': pushback }));
        }
        return { message: request.value, seqno: arrivals.length };
      },
    });
    const pushingPort = await pushing.listen('127.0.0.1:0');
    const made = new GrpcClient(`127.0.0.1:${pushingPort}`, typedExampleStub, { serviceConfig: retryConfig() });
    clients.push(made, { close: () => pushing.forceShutdown() });
    return { client: made, arrivals };
  }

  it('a GrpcServer trailer grpc-retry-pushback-ms replaces the backoff (300 ms against at most 50 ms)', async () => {
    const { client: made, arrivals } = await pushbackServer('300');
    expect(await made.unary_unary(R('p'))).toEqual({ message: 'p', seqno: 2 });
    expect(arrivals[1] - arrivals[0]).toBeGreaterThanOrEqual(290);
  });

  it('a negative pushback from a GrpcServer stops the retries', async () => {
    const { client: made, arrivals } = await pushbackServer('-1');
    expect((await failure(made.unary_unary(R('p')))).code).toBe(Status.UNAVAILABLE);
    expect(arrivals).toHaveLength(1);
  });
});

describe('retry throttling', () => {
  it('stops retries once failures drain the tokens to half, and resumes after successes refill them', async () => {
    // 4 tokens, threshold 2: a failed attempt takes 1, a success gives 1 back.
    const c = client({ serviceConfig: retryConfig({}, { retryThrottling: { maxTokens: 4, tokenRatio: 1 } }) });
    const attemptsOf = async (failures: number) => {
      const { id, metadata } = flaky.call(failures);
      await c.unary_unary(R('t'), { metadata }).catch(() => undefined);
      return flaky.count(id);
    };
    expect(await attemptsOf(100)).toBe(2); // 4 → 3 (retry allowed) → 2 (not above 2: stop)
    expect(await attemptsOf(100)).toBe(1); // 2 → 1: no retry
    expect(await attemptsOf(100)).toBe(1); // 1 → 0
    for (let i = 0; i < 4; i++) expect(await attemptsOf(0)).toBe(1); // 0 → 4
    expect(await attemptsOf(1)).toBe(2); // 4 → 3, retried, succeeds → 4
    expect(await attemptsOf(100)).toBe(2);
  });
});

describe('interceptors', () => {
  it('run once per call, around all of its attempts, and see the final status', async () => {
    const seen: number[] = [];
    const c = client({
      interceptors: [
        async (info, next) => {
          const status = await next(info);
          seen.push(status.code);
          return status;
        },
      ],
    });
    const { id, metadata } = flaky.call(2);
    await c.unary_unary(R('i'), { metadata });
    expect(flaky.count(id)).toBe(3);
    expect(seen).toEqual([Status.OK]);
  });
});
