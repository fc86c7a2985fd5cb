import * as grpc from '@grpc/grpc-js';
import { Observable } from 'rxjs';
import { GrpcContext, GrpcError, Status } from '../../lib/index.js';
import { type ExampleRequest, exampleImplementation } from '../helpers/example-service.js';
import { collect, grpcJsUnary } from '../helpers/grpc-js.js';
import { deferred, expectHealthy, Harness, whenAborted } from '../helpers/harness.js';
import { grpcHeaders, grpcMessage, grpcStatus, isTrailersOnly, parseMessages, rawCall, startRaw, exampleRequestFrame as request } from '../helpers/raw-http2.js';


function codeOf(reason: unknown): Status | undefined {
  return reason instanceof GrpcError ? reason.code : undefined;
}

describe('GrpcServer deadlines (grpc-timeout)', () => {
  const harness = new Harness();
  afterEach(() => harness.close());

  it('fails a slow unary handler with DEADLINE_EXCEEDED for a grpc-js deadline and aborts its signal', async () => {
    const aborted = deferred<unknown>();
    const { port } = await harness.serve({
      ...exampleImplementation,
      unary_stream: (_request: ExampleRequest, ctx: GrpcContext) =>
        new Observable(() => void whenAborted(ctx.signal).then(aborted.resolve)),
      async unary_unary(req: ExampleRequest, ctx: GrpcContext) {
        if (req.value !== 'slow') return exampleImplementation.unary_unary(req);
        aborted.resolve(await whenAborted(ctx.signal));
        return new Promise(() => undefined);
      },
    });
    const client = harness.client(port);
    const error = await grpcJsUnary(client, 'unary_unary', { value: 'slow' }, new grpc.Metadata(), { deadline: Date.now() + 150 }).catch(
      (e: grpc.ServiceError) => e,
    );
    expect((error as grpc.ServiceError).code).toBe(grpc.status.DEADLINE_EXCEEDED);
    // grpc-js also resets the stream at its own deadline; the handler learns of the end either way.
    expect([Status.DEADLINE_EXCEEDED, Status.CANCELLED]).toContain(codeOf(await aborted.promise));
    await expectHealthy(client);
  });

  it('answers DEADLINE_EXCEEDED itself, trailers-only, when the client never resets the stream', async () => {
    const reason = deferred<unknown>();
    const { port } = await harness.serve({
      ...exampleImplementation,
      unary_unary: (_request: ExampleRequest, ctx: GrpcContext) => {
        void whenAborted(ctx.signal).then(reason.resolve);
        return new Promise(() => undefined);
      },
    });
    const session = await harness.raw(port);
    const response = await rawCall(session, grpcHeaders('/nameko.example/unary_unary', { 'grpc-timeout': '100m' }), request('a'));
    expect(grpcStatus(response)).toBe(Status.DEADLINE_EXCEEDED);
    expect(isTrailersOnly(response)).toBe(true);
    expect(codeOf(await reason.promise)).toBe(Status.DEADLINE_EXCEEDED);
  });

  it('expires a call still waiting for its request message without running the handler', async () => {
    let ran = false;
    const { port } = await harness.serve({
      unary_unary: () => {
        ran = true;
        return {};
      },
    });
    const session = await harness.raw(port);
    const call = startRaw(session, grpcHeaders('/nameko.example/unary_unary', { 'grpc-timeout': '50m' }));
    const response = await call.response;
    expect(grpcStatus(response)).toBe(Status.DEADLINE_EXCEEDED);
    expect(ran).toBe(false);
  });

  it('ends a server stream mid-way at the deadline: messages so far, then DEADLINE_EXCEEDED; the Observable is released', async () => {
    const released = deferred<unknown>();
    const { port } = await harness.serve({
      unary_stream: (_request: ExampleRequest, ctx: GrpcContext) =>
        new Observable((subscriber) => {
          subscriber.next({ message: 'one', seqno: 1 });
          subscriber.next({ message: 'two', seqno: 2 });
          return () => released.resolve(ctx.signal.reason);
        }),
    });
    const session = await harness.raw(port);
    const raw = await rawCall(session, grpcHeaders('/nameko.example/unary_stream', { 'grpc-timeout': '150m' }), request('a'));
    expect(parseMessages(raw.data)).toHaveLength(2);
    expect(raw.trailers?.['grpc-status']).toBe(String(Status.DEADLINE_EXCEEDED));
    expect(codeOf(await released.promise)).toBe(Status.DEADLINE_EXCEEDED);

    const { messages, status } = await collect(harness.client(port).unary_stream({ value: 'a' }, { deadline: Date.now() + 150 }));
    expect(messages.map((m) => m.seqno)).toEqual([1, 2]);
    expect(status.code).toBe(grpc.status.DEADLINE_EXCEEDED);
  });

  it('stops an async generator and the request iteration of a bidi call at the deadline, closing a stream the client left open', async () => {
    const stopped = deferred<unknown>();
    const { port } = await harness.serve({
      async *stream_stream(requests: AsyncIterable<ExampleRequest>, ctx: GrpcContext) {
        try {
          for await (const req of requests) yield { message: req.value };
        } catch (error) {
          stopped.resolve(error);
        } finally {
          stopped.resolve(ctx.signal.reason);
        }
      },
    });
    const session = await harness.raw(port);
    const call = startRaw(session, grpcHeaders('/nameko.example/stream_stream', { 'grpc-timeout': '150m' }));
    call.stream.write(request('x'));
    // The client never half-closes; the server must still end the call.
    const response = await call.response;
    expect(parseMessages(response.data)).toHaveLength(1);
    expect(grpcStatus(response)).toBe(Status.DEADLINE_EXCEEDED);
    expect(codeOf(await stopped.promise)).toBe(Status.DEADLINE_EXCEEDED);
  });

  it.each(['9a1S', '1234', '-1S', '123456789S', '1.5S', '1s', 'S', '1 S', '0x10m'])(
    'refuses a malformed grpc-timeout %j with INTERNAL, without running the handler',
    async (timeout) => {
      let ran = false;
      const { port } = await harness.serve({
        ...exampleImplementation,
        unary_stream: () => {
          ran = true;
          return [];
        },
      });
      const session = await harness.raw(port);
      const response = await rawCall(session, grpcHeaders('/nameko.example/unary_stream', { 'grpc-timeout': timeout }), request('a'));
      expect(grpcStatus(response)).toBe(Status.INTERNAL);
      expect(grpcMessage(response)).toMatch(/grpc-timeout/);
      expect(isTrailersOnly(response)).toBe(true);
      expect(ran).toBe(false);
      await expectHealthy(harness.client(port));
    },
  );

  it.each([
    ['99999999H', 99_999_999 * 3_600_000],
    ['2592000S', 30 * 24 * 3_600_000],
    ['99999999M', 99_999_999 * 60_000],
  ])('does not expire a long legal grpc-timeout %s early (beyond the 2^31-1 ms timer limit)', async (timeout, expectedMs) => {
    const seen = deferred<{ remaining: number; cancelled: boolean }>();
    const { port } = await harness.serve({
      async unary_unary(_request: ExampleRequest, ctx: GrpcContext) {
        // A timer set beyond 2^31-1 ms would fire after ~1 ms; give it ample time to misfire.
        await new Promise((resolve) => setTimeout(resolve, 30));
        seen.resolve({ remaining: ctx.timeRemaining, cancelled: ctx.cancelled });
        return { message: 'in time' };
      },
    });
    const session = await harness.raw(port);
    const response = await rawCall(session, grpcHeaders('/nameko.example/unary_unary', { 'grpc-timeout': timeout }), request('a'));
    expect(grpcStatus(response)).toBe(Status.OK);
    const { remaining, cancelled } = await seen.promise;
    expect(cancelled).toBe(false);
    expect(Math.abs(remaining - expectedMs)).toBeLessThan(5000);
  });

  it('keeps a grpc-js call with a 30-day deadline alive', async () => {
    const { port } = await harness.serve({
      async unary_unary(_request: ExampleRequest, ctx: GrpcContext) {
        await new Promise((resolve) => setTimeout(resolve, 30));
        return { message: ctx.cancelled ? 'cancelled' : 'alive' };
      },
    });
    const { response } = await grpcJsUnary(harness.client(port), 'unary_unary', { value: 'a' }, new grpc.Metadata(), {
      deadline: Date.now() + 30 * 24 * 3_600_000,
    });
    expect(response.message).toBe('alive');
  });

  it('does not abort the signal of a call that completes before its deadline', async () => {
    const signal = deferred<AbortSignal>();
    const { port } = await harness.serve({
      unary_unary(_request: ExampleRequest, ctx: GrpcContext) {
        signal.resolve(ctx.signal);
        return { message: 'quick' };
      },
    });
    const session = await harness.raw(port);
    const response = await rawCall(session, grpcHeaders('/nameko.example/unary_unary', { 'grpc-timeout': '30m' }), request('a'));
    expect(grpcStatus(response)).toBe(Status.OK);
    const done = await signal.promise;
    // Wait out the deadline: its timer must have been cancelled with the call.
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(done.aborted).toBe(false);
  });
});
