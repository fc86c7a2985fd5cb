/**
 * Call deadlines: `timeout` and `deadline` travel as `grpc-timeout`, and fire locally with
 * DEADLINE_EXCEEDED and RST_STREAM(CANCEL) even when the server never answers, also in the
 * middle of a response stream; a deadline already past fails without a request.
 */
import type * as grpc from '@grpc/grpc-js';
import { lastValueFrom, toArray } from 'rxjs';
import { GrpcClient, Status } from '../../lib/index.js';
import { grpcJsExampleImplementation, startGrpcJsServer } from '../helpers/grpc-js.js';
import { deferred, type Deferred } from '../helpers/harness.js';
import { replyFrame, startRawServer, type RawServer } from '../helpers/http2-server.js';
import { typedExampleStub as exampleStub } from '../helpers/typed-example.js';
import { grpcTimeoutMs as timeoutMs, timedFailure } from '../helpers/call-failures.js';

const CANCEL = 8;
const REQUEST = { value: 'A', multiplier: 1 };

describe('deadlines enforced by the client against a server that never answers', () => {
  let raw: RawServer;
  let client: GrpcClient<typeof exampleStub>;

  beforeAll(async () => {
    raw = await startRawServer((stream, headers) => {
      // unary_stream: two replies, then silence; everything else: silence.
      if (headers[':path'] === '/nameko.example/unary_stream') {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
        stream.write(Buffer.concat([replyFrame('one', 1), replyFrame('two', 2)]));
      }
    });
    client = new GrpcClient(`127.0.0.1:${raw.port}`, exampleStub);
  });

  afterAll(async () => {
    client.close();
    await raw.close();
  });

  it('timeout: DEADLINE_EXCEEDED on time, grpc-timeout sent, the stream reset with CANCEL', async () => {
    const seen = raw.nextStream();
    const { error, elapsed } = await timedFailure(() => client.unary_unary(REQUEST, { timeout: 200 }));
    expect(error.code).toBe(Status.DEADLINE_EXCEEDED);
    expect(elapsed).toBeGreaterThanOrEqual(190);
    expect(elapsed).toBeLessThan(2000);
    const stream = await seen;
    const sent = timeoutMs(String(stream.headers['grpc-timeout']));
    expect(sent).toBeGreaterThan(100);
    expect(sent).toBeLessThanOrEqual(200);
    await expect(stream.closed).resolves.toBe(CANCEL);
  });

  it('deadline (a Date): DEADLINE_EXCEEDED on time', async () => {
    const seen = raw.nextStream();
    const { error, elapsed } = await timedFailure(() => client.unary_unary(REQUEST, { deadline: new Date(Date.now() + 150) }));
    expect(error.code).toBe(Status.DEADLINE_EXCEEDED);
    expect(elapsed).toBeGreaterThanOrEqual(140);
    expect(elapsed).toBeLessThan(2000);
    expect(timeoutMs(String((await seen).headers['grpc-timeout']))).toBeLessThanOrEqual(150);
  });

  it('the earlier of timeout and deadline applies', async () => {
    const seen = raw.nextStream();
    const { error, elapsed } = await timedFailure(() => client.unary_unary(REQUEST, { timeout: 60_000, deadline: Date.now() + 100 }));
    expect(error.code).toBe(Status.DEADLINE_EXCEEDED);
    expect(elapsed).toBeLessThan(2000);
    expect(timeoutMs(String((await seen).headers['grpc-timeout']))).toBeLessThanOrEqual(100);
  });

  it('mid-stream: the replies already received are delivered, then DEADLINE_EXCEEDED', async () => {
    const seen = raw.nextStream();
    const replies: number[] = [];
    const { error } = await timedFailure(() => lastValueFrom(client.unary_stream(REQUEST, { timeout: 200 }).pipe(toArray())));
    expect(error.code).toBe(Status.DEADLINE_EXCEEDED);
    const call = client.call.unary_stream(REQUEST, { timeout: 200 });
    const iterated = (async () => {
      for await (const reply of call.responses) replies.push(reply.seqno);
    })();
    await expect(iterated).rejects.toMatchObject({ code: Status.DEADLINE_EXCEEDED });
    expect(replies).toEqual([1, 2]);
    await expect(call.status).resolves.toMatchObject({ code: Status.DEADLINE_EXCEEDED });
    await expect((await seen).closed).resolves.toBe(CANCEL);
  });

  it('a deadline already past fails DEADLINE_EXCEEDED at once, without sending a request', async () => {
    const before = raw.streams.length;
    const { error, elapsed } = await timedFailure(() => client.unary_unary(REQUEST, { deadline: new Date(Date.now() - 1000) }));
    expect(error.code).toBe(Status.DEADLINE_EXCEEDED);
    expect(elapsed).toBeLessThan(100);
    await expect(client.unary_unary(REQUEST, { timeout: 0 })).rejects.toMatchObject({ code: Status.DEADLINE_EXCEEDED });
    await expect(lastValueFrom(client.unary_stream(REQUEST, { timeout: -5 }))).rejects.toMatchObject({ code: Status.DEADLINE_EXCEEDED });
    // A later call does reach the server: the earlier ones would have been seen before it.
    const seen = raw.nextStream();
    await expect(client.unary_unary({ value: 'probe', multiplier: 1 }, { timeout: 50 })).rejects.toMatchObject({ code: Status.DEADLINE_EXCEEDED });
    expect((await seen).headers['grpc-timeout']).toBeDefined();
    expect(raw.streams.length).toBe(before + 1);
  });

  it('without timeout or deadline no grpc-timeout is sent', async () => {
    const seen = raw.nextStream();
    const call = client.call.unary_unary(REQUEST);
    const stream = await seen;
    expect(stream.headers['grpc-timeout']).toBeUndefined();
    call.cancel();
    await expect(call.status).resolves.toMatchObject({ code: Status.CANCELLED });
  });

  it('a deadline far in the future (beyond the 2^31-1 ms timer limit) does not fire early', async () => {
    const seen = raw.nextStream();
    const call = client.call.unary_unary(REQUEST, { timeout: 40 * 24 * 3600 * 1000 });
    const stream = await seen;
    expect(timeoutMs(String(stream.headers['grpc-timeout']))).toBeGreaterThan(2 ** 31);
    let settled = false;
    void call.status.then(() => (settled = true));
    // Let time pass: a short call times out meanwhile; a timer clamped wrongly would have fired by now.
    await expect(client.unary_unary(REQUEST, { timeout: 50 })).rejects.toMatchObject({ code: Status.DEADLINE_EXCEEDED });
    expect(settled).toBe(false);
    call.cancel();
    await expect(call.status).resolves.toMatchObject({ code: Status.CANCELLED });
  });
});

describe('deadlines against a grpc-js server', () => {
  let server: grpc.Server;
  let client: GrpcClient<typeof exampleStub>;
  let handlerDeadline: Deferred<{ deadline: number; cancelled: Promise<void> }>;

  beforeAll(async () => {
    const running = await startGrpcJsServer({
      ...grpcJsExampleImplementation,
      // Never answers; reports the deadline grpc-js read from grpc-timeout, and its cancellation.
      unary_unary(call: grpc.ServerUnaryCall<any, any>) {
        const cancelled = new Promise<void>((resolve) => call.on('cancelled', () => resolve()));
        handlerDeadline.resolve({ deadline: Number(call.getDeadline()), cancelled });
      },
    });
    server = running.server;
    client = new GrpcClient(`127.0.0.1:${running.port}`, exampleStub);
  });

  beforeEach(() => {
    handlerDeadline = deferred();
  });

  afterAll(() => {
    client.close();
    server.forceShutdown();
  });

  it('the handler sees the deadline from grpc-timeout, and is cancelled when it passes', async () => {
    const deadline = Date.now() + 300;
    const reply = client.unary_unary(REQUEST, { deadline });
    const seen = await handlerDeadline.promise;
    expect(seen.deadline).toBeGreaterThan(deadline - 100);
    expect(seen.deadline).toBeLessThanOrEqual(deadline + 50);
    await expect(reply).rejects.toMatchObject({ code: Status.DEADLINE_EXCEEDED });
    await seen.cancelled;
  });

  it('a call without a deadline reaches the handler with an infinite one', async () => {
    const call = client.call.unary_unary(REQUEST);
    const seen = await handlerDeadline.promise;
    expect(seen.deadline).toBe(Infinity);
    call.cancel();
    await seen.cancelled;
  });
});

describe('deadlines while no connection can be made', () => {
  it('with waitForReady the call waits for a connection until its deadline', async () => {
    // A port that was just free: nothing listens on it.
    const raw = await startRawServer();
    const port = raw.port;
    await raw.close();
    const client = new GrpcClient(`127.0.0.1:${port}`, exampleStub, { backoff: { initialMs: 20, maxMs: 50 } });
    try {
      const { error: failFast } = await timedFailure(() => client.unary_unary(REQUEST, { timeout: 5000 }));
      expect(failFast.code).toBe(Status.UNAVAILABLE);
      const { error, elapsed } = await timedFailure(() => client.unary_unary(REQUEST, { timeout: 300, waitForReady: true }));
      expect(error.code).toBe(Status.DEADLINE_EXCEEDED);
      expect(elapsed).toBeGreaterThanOrEqual(290);
    } finally {
      client.close();
    }
  });
});
