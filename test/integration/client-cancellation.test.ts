/**
 * Cancellation by the client: unsubscribing, breaking out of `for await`, aborting a signal and
 * `call.cancel()` reset the stream with RST_STREAM(CANCEL); a grpc-js server's handler sees
 * `cancelled`, and the client's status is CANCELLED.
 */
import type * as grpc from '@grpc/grpc-js';
import { getEventListeners } from 'node:events';
import { firstValueFrom, ReplaySubject, take, toArray, lastValueFrom } from 'rxjs';
import { GrpcClient, GrpcError, Status } from '../../lib/index.js';
import { typedExampleStub as exampleStub } from '../helpers/typed-example.js';
import { grpcJsExampleImplementation, startGrpcJsServer } from '../helpers/grpc-js.js';
import { deferred, type Deferred } from '../helpers/harness.js';
import { replyFrame, startRawServer, type RawServer } from '../helpers/http2-server.js';

const CANCEL = 8;

describe('GrpcClient cancellation against a grpc-js server', () => {
  let server: grpc.Server;
  let client: GrpcClient<typeof exampleStub>;
  /** Resolved by a handler when grpc-js reports its call cancelled. */
  let cancelled: Deferred<string>;
  /** Resolved by a handler with the request's value when its call has started. */
  let started: Deferred<string>;

  beforeAll(async () => {
    const running = await startGrpcJsServer({
      ...grpcJsExampleImplementation,
      // Never answers; reports cancellation.
      unary_unary(call: grpc.ServerUnaryCall<any, any>) {
        call.on('cancelled', () => cancelled.resolve('unary_unary'));
        started.resolve(call.request.value);
      },
      // Sends three replies, then never ends.
      unary_stream(call: grpc.ServerWritableStream<any, any>) {
        call.on('cancelled', () => cancelled.resolve('unary_stream'));
        for (let seqno = 1; seqno <= 3; seqno++) call.write({ message: call.request.value, seqno });
        started.resolve(call.request.value);
      },
      // Echoes each request; never ends on its own.
      stream_stream(call: grpc.ServerDuplexStream<any, any>) {
        call.on('cancelled', () => cancelled.resolve('stream_stream'));
        call.on('data', (request: any) => {
          call.write({ message: request.value, seqno: 0 });
          started.resolve(request.value);
        });
      },
    });
    server = running.server;
    client = new GrpcClient(`127.0.0.1:${running.port}`, exampleStub);
  });

  beforeEach(() => {
    cancelled = deferred<string>();
    started = deferred<string>();
  });

  afterAll(() => {
    client.close();
    server.forceShutdown();
  });

  it('unsubscribing from a response stream mid-way cancels the call on the server', async () => {
    const first = await firstValueFrom(client.unary_stream({ value: 'A', multiplier: 1 }).pipe(take(1)));
    expect(first).toEqual({ message: 'A', seqno: 1 });
    await expect(cancelled.promise).resolves.toBe('unary_stream');
  });

  it('an explicit unsubscribe() cancels the call on the server', async () => {
    const received: unknown[] = [];
    const subscription = client.unary_stream({ value: 'B', multiplier: 1 }).subscribe((reply) => received.push(reply));
    await started.promise;
    subscription.unsubscribe();
    await expect(cancelled.promise).resolves.toBe('unary_stream');
  });

  it('breaking out of for-await cancels the call on the server', async () => {
    const seqnos: number[] = [];
    for await (const reply of client.unaryStream({ value: 'C', multiplier: 1 })) {
      seqnos.push(reply.seqno);
      if (seqnos.length === 2) break;
    }
    expect(seqnos).toEqual([1, 2]);
    await expect(cancelled.promise).resolves.toBe('unary_stream');
  });

  it('aborting the signal of a unary call rejects CANCELLED and cancels it on the server', async () => {
    const controller = new AbortController();
    const reply = client.unary_unary({ value: 'D', multiplier: 1 }, { signal: controller.signal });
    await started.promise;
    controller.abort();
    await expect(reply).rejects.toMatchObject({ code: Status.CANCELLED });
    await expect(reply).rejects.toBeInstanceOf(GrpcError);
    await expect(cancelled.promise).resolves.toBe('unary_unary');
  });

  it('aborting the signal of a response stream errors it CANCELLED and cancels it on the server', async () => {
    const controller = new AbortController();
    const done = lastValueFrom(client.unary_stream({ value: 'E', multiplier: 1 }, { signal: controller.signal }).pipe(toArray())).catch(
      (error: unknown) => error,
    );
    await started.promise;
    controller.abort();
    const error = await done;
    expect(error).toBeInstanceOf(GrpcError);
    expect((error as GrpcError).code).toBe(Status.CANCELLED);
    await expect(cancelled.promise).resolves.toBe('unary_stream');
  });

  it('a signal aborted before the call fails it CANCELLED without reaching the server', async () => {
    const controller = new AbortController();
    controller.abort();
    const call = client.call.unary_unary({ value: 'F', multiplier: 1 }, { signal: controller.signal });
    await expect(call.response).rejects.toMatchObject({ code: Status.CANCELLED });
    // The next call is the first the handler sees.
    const probe = client.call.unary_unary({ value: 'G', multiplier: 1 });
    await expect(started.promise).resolves.toBe('G');
    probe.cancel();
    await expect(cancelled.promise).resolves.toBe('unary_unary');
  });

  it('call.cancel() on the call object ends it CANCELLED and cancels it on the server', async () => {
    const call = client.call.unary_unary({ value: 'H', multiplier: 1 });
    await started.promise;
    call.cancel();
    const status = await call.status;
    expect(status.code).toBe(Status.CANCELLED);
    await expect(call.response).rejects.toMatchObject({ code: Status.CANCELLED });
    await expect(cancelled.promise).resolves.toBe('unary_unary');
  });

  it('call.cancel() on a bidi call object ends its response stream CANCELLED', async () => {
    const requests = new ReplaySubject<{ value: string; multiplier: number }>();
    const call = client.call.stream_stream(requests);
    const firstReply = firstValueFrom(call.responses);
    requests.next({ value: 'I', multiplier: 1 });
    await started.promise;
    call.cancel();
    await expect(firstReply).rejects.toMatchObject({ code: Status.CANCELLED });
    await expect(call.status).resolves.toMatchObject({ code: Status.CANCELLED });
    await expect(cancelled.promise).resolves.toBe('stream_stream');
  });

  it('cancel() after the call ended changes nothing', async () => {
    const call = client.call.stream_unary([{ value: 'J', multiplier: 2 }]);
    await expect(call.response).resolves.toEqual({ message: 'JJ', seqno: 0 });
    call.cancel();
    await expect(call.status).resolves.toMatchObject({ code: Status.OK });
  });

  it('a call stops listening to its signal when it ends: one signal can serve many calls', async () => {
    const controller = new AbortController();
    const replies = ['K', 'L', 'M'].map((value) => client.stream_unary([{ value, multiplier: 1 }], { signal: controller.signal }));
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(3);
    await expect(Promise.all(replies)).resolves.toEqual(['K', 'L', 'M'].map((message) => ({ message, seqno: 0 })));
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });
});

describe('GrpcClient cancellation on the wire', () => {
  let raw: RawServer;
  let client: GrpcClient<typeof exampleStub>;

  beforeAll(async () => {
    raw = await startRawServer((stream) => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
      stream.write(replyFrame('first', 1));
    });
    client = new GrpcClient(`127.0.0.1:${raw.port}`, exampleStub);
  });

  afterAll(async () => {
    client.close();
    await raw.close();
  });

  it('unsubscribing resets the stream with RST_STREAM(CANCEL)', async () => {
    const seen = raw.nextStream();
    await expect(firstValueFrom(client.unary_stream({ value: 'A', multiplier: 1 }))).resolves.toEqual({ message: 'first', seqno: 1 });
    await expect((await seen).closed).resolves.toBe(CANCEL);
  });

  it('aborting a signal resets the stream with RST_STREAM(CANCEL)', async () => {
    const controller = new AbortController();
    const seen = raw.nextStream();
    const reply = client.unary_unary({ value: 'A', multiplier: 1 }, { signal: controller.signal });
    const stream = await seen;
    controller.abort();
    await expect(reply).rejects.toMatchObject({ code: Status.CANCELLED });
    await expect(stream.closed).resolves.toBe(CANCEL);
  });
});
