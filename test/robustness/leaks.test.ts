/**
 * Issue 9, item 13: 10,000 calls of mixed outcomes (ok, error, cancelled, deadline) between our
 * client and our server leave no growth in open handles, process listeners or heap beyond a
 * small bound. Measured after a forced garbage collection, against a baseline taken after a
 * warm-up (so lazily built caches and JIT code are not counted).
 */
import { GrpcClient, type GrpcContext, GrpcError, GrpcServer, Metadata, Status } from '../../lib/index.js';
import type { ExampleRequest } from '../helpers/example-service.js';
import { typedExampleStub as exampleStub } from '../helpers/typed-example.js';
import { whenAborted } from '../helpers/harness.js';
import { activeResources, settledHeapMiB } from '../helpers/memory.js';

/** Clients, each its own connection: cancellations are spread so none trips the Rapid Reset limit. */
const CONNECTIONS = 20;

type Outcome = 'ok' | 'error' | 'cancelled' | 'deadline';
const OUTCOMES: Outcome[] = ['ok', 'error', 'cancelled', 'deadline'];

function listenerCounts(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const name of process.eventNames()) counts[String(name)] = process.listenerCount(name);
  return counts;
}

describe('10,000 calls of mixed outcomes', () => {
  it('leave no growth in handles, listeners or heap', async () => {
    let running = 0;
    const server = new GrpcServer();
    server.addService(exampleStub, {
      async unary_unary(request: ExampleRequest, ctx: GrpcContext) {
        running++;
        try {
          if (request.value === 'error') throw new GrpcError(Status.FAILED_PRECONDITION, 'refused', [], new Metadata({ 'x-why': 'test' }));
          if (request.value === 'hold') await whenAborted(ctx.signal);
          return { message: request.value, seqno: 0 };
        } finally {
          running--;
        }
      },
      async *unary_stream(_request: ExampleRequest, ctx: GrpcContext) {
        running++;
        try {
          yield { message: 'first', seqno: 1 };
          await whenAborted(ctx.signal);
        } finally {
          running--;
        }
      },
    });
    const port = await server.listen('127.0.0.1:0');
    const clients = Array.from({ length: CONNECTIONS }, () => new GrpcClient(`127.0.0.1:${port}`, exampleStub));

    const counted: Record<Outcome, number> = { ok: 0, error: 0, cancelled: 0, deadline: 0 };
    async function call(i: number): Promise<void> {
      const client = clients[i % CONNECTIONS];
      const outcome = OUTCOMES[i % OUTCOMES.length];
      let code: Status;
      try {
        if (outcome === 'cancelled') {
          // A server stream cancelled once its first message arrived.
          const controller = new AbortController();
          await new Promise<void>((resolve, reject) => {
            client.unary_stream({ value: 'x', multiplier: 1 }, { signal: controller.signal }).subscribe({
              next: () => controller.abort(),
              error: reject,
              complete: () => resolve(),
            });
          });
          code = Status.OK;
        } else {
          const value = outcome === 'ok' ? `v${i}` : outcome === 'error' ? 'error' : 'hold';
          await client.unary_unary({ value, multiplier: 1 }, outcome === 'deadline' ? { timeout: 2 } : {});
          code = Status.OK;
        }
      } catch (error) {
        code = (error as GrpcError).code;
      }
      const expected = { ok: Status.OK, error: Status.FAILED_PRECONDITION, cancelled: Status.CANCELLED, deadline: Status.DEADLINE_EXCEEDED }[outcome];
      if (code !== expected) throw new Error(`Call ${i} (${outcome}) ended ${Status[code]}`);
      counted[outcome]++;
    }
    async function run(from: number, count: number): Promise<void> {
      const batch = 200;
      for (let start = from; start < from + count; start += batch) {
        await Promise.all(Array.from({ length: Math.min(batch, from + count - start) }, (_, k) => call(start + k)));
      }
      // Server handlers end a moment after their clients saw the status.
      while (running > 0) await new Promise((resolve) => setTimeout(resolve, 5));
    }

    try {
      await run(0, 1000);
      const heapBefore = await settledHeapMiB();
      const resourcesBefore = activeResources();
      const listenersBefore = listenerCounts();

      await run(1000, 10_000);
      expect(counted).toEqual({ ok: 2750, error: 2750, cancelled: 2750, deadline: 2750 });

      const heapAfter = await settledHeapMiB();
      // Timers are compared within 2: a server-wide one (the request-message expiry queue, a
      // connection's idle timer) may or may not be armed at the moment of counting; a per-call leak
      // would show as thousands.
      const { Timeout: timersAfter = 0, ...othersAfter } = activeResources();
      const { Timeout: timersBefore = 0, ...othersBefore } = resourcesBefore;
      expect(othersAfter).toEqual(othersBefore);
      expect(Math.abs(timersAfter - timersBefore)).toBeLessThanOrEqual(2);
      expect(listenerCounts()).toEqual(listenersBefore);
      // A leak of even 500 bytes per call would show as 5 MiB.
      expect(heapAfter - heapBefore).toBeLessThan(3);
    } finally {
      for (const client of clients) client.close();
      server.forceShutdown();
    }
    // About 10 s on 2 cores; the margin is for a loaded machine.
  }, 90_000);
});
