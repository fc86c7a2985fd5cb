/**
 * Issue 9, item 11: a server-streaming handler able to produce 1 GiB for a client that does not
 * read keeps the server's memory bounded. An async-iterable source is held back by HTTP/2 flow
 * control; an Observable (which cannot be held back) is cut off at maxBufferedResponseBytes with
 * RESOURCE_EXHAUSTED. (server-limits.test.ts checks the status and the backpressure with a
 * reading client; this checks memory against a client that stops reading.)
 */
import http2 from 'node:http2';
import { Observable } from 'rxjs';
import { type GrpcContext, GrpcError, Status } from '../../lib/index.js';
import { deferred, Harness, whenAborted } from '../helpers/harness.js';
import { rssMiB } from '../helpers/memory.js';
import { connectRaw, grpcHeaders, grpcStatus, parseMessages, startRaw, exampleRequestFrame as request } from '../helpers/raw-http2.js';


const MiB = 1024 * 1024;
/** 1024 messages of 1 MiB: 1 GiB if the client read it all. */
const MESSAGES = 1024;

/** Resolves once `condition` holds, checking after each turn of the event loop; rejects after `timeoutMs`. */
async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A request whose response the client does not read: its stream is paused as soon as it starts. */
async function nonReadingCall(port: number): Promise<{ session: http2.ClientHttp2Session; call: ReturnType<typeof startRaw> }> {
  const session = await connectRaw(port);
  const call = startRaw(session, grpcHeaders('/nameko.example/unary_stream'));
  call.stream.pause();
  call.stream.end(request('go'));
  return { session, call };
}

describe('a slow consumer of a 1 GiB server stream', () => {
  const harness = new Harness();
  afterEach(() => harness.close());

  it('async generator: the producer is held back by flow control; memory stays bounded; it resumes when the client reads', async () => {
    let produced = 0;
    const stopped = deferred<unknown>();
    const { port } = await harness.serve({
      async *unary_stream(_request: unknown, ctx: GrpcContext) {
        try {
          for (let i = 0; i < MESSAGES; i++) {
            produced++;
            yield { message: String(i).padEnd(MiB, 'g'), seqno: i };
          }
        } finally {
          stopped.resolve(ctx.signal.reason);
        }
      },
    });
    const rssBefore = rssMiB();
    const { session, call } = await nonReadingCall(port);
    await until(() => produced >= 1, 'the first message');
    // Watch the producer while the client reads nothing: it must stay blocked.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(produced).toBeLessThanOrEqual(4);
    expect(rssMiB() - rssBefore).toBeLessThan(64);

    // It was backpressure, not a stall: reading lets it go on.
    call.stream.resume();
    await until(() => produced >= 20, 'production to resume', 10_000);
    call.stream.close(http2.constants.NGHTTP2_CANCEL);
    const reason = await stopped.promise;
    expect((reason as GrpcError).code).toBe(Status.CANCELLED);
    expect(produced).toBeLessThan(MESSAGES);
    session.destroy();
  });

  it.each([
    ['pushing from a loop of setImmediate', false],
    ['pushing everything synchronously in subscribe', true],
  ])('Observable %s: cut off with RESOURCE_EXHAUSTED at maxBufferedResponseBytes, unsubscribed, memory bounded', async (_name, synchronous) => {
    let emitted = 0;
    const unsubscribed = deferred<unknown>();
    const { port } = await harness.serve(
      {
        unary_stream: (_request: unknown, ctx: GrpcContext) =>
          new Observable<{ message: string; seqno: number }>((subscriber) => {
            let stop = false;
            const emit = () => {
              emitted++;
              subscriber.next({ message: String(emitted).padEnd(MiB, 'o'), seqno: emitted });
            };
            if (synchronous) {
              while (!subscriber.closed && emitted < MESSAGES) emit();
            } else {
              const next = () => {
                if (stop || subscriber.closed || emitted >= MESSAGES) return;
                emit();
                setImmediate(next);
              };
              next();
            }
            return () => {
              stop = true;
              void whenAborted(ctx.signal).then(unsubscribed.resolve);
            };
          }),
      },
      { maxBufferedResponseBytes: 16 * MiB },
    );
    const rssBefore = rssMiB();
    const { session, call } = await nonReadingCall(port);
    const reason = await unsubscribed.promise;
    expect((reason as GrpcError).code).toBe(Status.RESOURCE_EXHAUSTED);
    expect(emitted).toBeLessThanOrEqual(20);
    expect(rssMiB() - rssBefore).toBeLessThan(96);
    // Once the client reads, it gets what was buffered, then the status.
    call.stream.resume();
    const response = await call.response;
    expect(grpcStatus(response)).toBe(Status.RESOURCE_EXHAUSTED);
    expect(parseMessages(response.data).length).toBeGreaterThan(0);
    expect(parseMessages(response.data).length).toBeLessThanOrEqual(emitted);
    session.destroy();
  });
});
