/**
 * Cancellation and deadlines reach a Nest handler: a client cancelling a call (each streaming
 * pattern, both clients) or a passing deadline aborts the handler's `ctx.signal`, and a request
 * stream the client abandoned fails rather than ending as if complete.
 */
import 'reflect-metadata';
import * as grpc from '@grpc/grpc-js';
import { Controller, Module } from '@nestjs/common';
import { Observable } from 'rxjs';
import { type GrpcContext, GrpcError, GrpcImplementing, GrpcMethod, type MessageStream, Status } from '../../lib/index.js';
import { exampleStub, type ExampleReply, type ExampleRequest } from '../helpers/example-service.js';
import { collect, grpcJsUnary } from '../helpers/grpc-js.js';
import { deferred, type Deferred, whenAborted } from '../helpers/harness.js';
import { grpcJsRejection, type NestGrpcApp, rejection, startNestApp } from '../helpers/nest-app.js';
import { connectRaw, frame, grpcHeaders, grpcStatus, rawCall } from '../helpers/raw-http2.js';

/** What the handler of the current test reports. */
interface Probe {
  /** The handler started; resolves with its context. */
  started: Deferred<GrpcContext>;
  /** Resolves with `ctx.signal.reason` when the signal aborts. */
  aborted: Deferred<unknown>;
  /** How the handler's iteration of the request stream ended: 'completed' or the error's code. */
  requests: Deferred<string>;
  /** Requests received so far, resolving `received[n]` at the n+1-th. */
  received: Array<Deferred<void>>;
}

function newProbe(): Probe {
  return { started: deferred(), aborted: deferred(), requests: deferred(), received: [deferred(), deferred(), deferred()] };
}

let probe = newProbe();

function watch(context: GrpcContext): void {
  probe.started.resolve(context);
  void whenAborted(context.signal).then((reason) => probe.aborted.resolve(reason));
}

async function consume(requests: MessageStream<ExampleRequest>, onRequest: (request: ExampleRequest) => void = () => undefined): Promise<void> {
  let count = 0;
  try {
    for await (const request of requests) {
      onRequest(request);
      probe.received[count++]?.resolve();
    }
    probe.requests.resolve('completed');
  } catch (error) {
    probe.requests.resolve(error instanceof GrpcError ? Status[error.code] : String(error));
    throw error;
  }
}

@Controller()
@GrpcImplementing(exampleStub)
class SlowController {
  /** Never answers on its own: it waits for its signal. */
  @GrpcMethod()
  async unary_unary(_request: ExampleRequest, context: GrpcContext): Promise<ExampleReply> {
    watch(context);
    await whenAborted(context.signal);
    return { message: 'too late', seqno: 0 };
  }

  /** One message, then nothing until the call ends. */
  @GrpcMethod()
  unary_stream(_request: ExampleRequest, context: GrpcContext): Observable<ExampleReply> {
    watch(context);
    return new Observable((subscriber) => subscriber.next({ message: 'first', seqno: 1 }));
  }

  @GrpcMethod()
  async stream_unary(requests: MessageStream<ExampleRequest>, context: GrpcContext): Promise<ExampleReply> {
    watch(context);
    let count = 0;
    await consume(requests, () => count++);
    return { message: `received ${count}`, seqno: count };
  }

  /** An async generator answering each request, then waiting for more. */
  @GrpcMethod()
  async *stream_stream(requests: MessageStream<ExampleRequest>, context: GrpcContext): AsyncIterable<ExampleReply> {
    watch(context);
    let seqno = 0;
    const replies: ExampleReply[] = [];
    const iteration = consume(requests, (request) => replies.push({ message: request.value, seqno: ++seqno }));
    iteration.catch(() => undefined);
    for (;;) {
      while (replies.length > 0) yield replies.shift()!;
      await Promise.race([probe.received[seqno]?.promise ?? iteration, iteration]);
      if (replies.length === 0) return;
    }
  }
}

@Module({ controllers: [SlowController] })
class SlowModule {}

function codeOf(reason: unknown): string {
  return reason instanceof GrpcError ? Status[reason.code] : `not a GrpcError: ${String(reason)}`;
}

describe('cancellation and deadlines reach Nest handlers', () => {
  let nest: NestGrpcApp;
  beforeAll(async () => {
    nest = await startNestApp(SlowModule);
  });
  afterAll(() => nest.close());
  beforeEach(() => {
    probe = newProbe();
  });

  describe('cancellation', () => {
    it('grpc-js cancels a server stream: ctx.signal aborts with CANCELLED', async () => {
      const call = nest.grpcJs.unary_stream({ value: 'x' });
      const done = collect(call);
      await new Promise((resolve) => call.once('data', resolve));
      call.cancel();
      expect(codeOf(await probe.aborted.promise)).toBe('CANCELLED');
      expect((await done).status.code).toBe(grpc.status.CANCELLED);
    });

    it('our client unsubscribes from a server stream: ctx.signal aborts with CANCELLED', async () => {
      const subscription = nest.ours.unary_stream({ value: 'x', multiplier: 1 }).subscribe({ next: () => subscription.unsubscribe() });
      expect(codeOf(await probe.aborted.promise)).toBe('CANCELLED');
    });

    it('grpc-js cancels a client stream mid-way: the request stream fails CANCELLED instead of completing', async () => {
      let result: grpc.ServiceError | null | undefined;
      const call = nest.grpcJs.stream_unary((error: grpc.ServiceError | null) => (result = error));
      const status = new Promise((resolve) => call.on('status', resolve));
      call.write({ value: 'a' });
      call.write({ value: 'b' });
      await probe.received[1].promise;
      call.cancel();
      expect(codeOf(await probe.aborted.promise)).toBe('CANCELLED');
      expect(await probe.requests.promise).toBe('CANCELLED');
      await status;
      expect(result?.code).toBe(grpc.status.CANCELLED);
    });

    it('our client cancels a client stream mid-way: the request stream fails CANCELLED instead of completing', async () => {
      const requests = new Observable<ExampleRequest>((subscriber) => {
        subscriber.next({ value: 'a', multiplier: 1 });
        subscriber.next({ value: 'b', multiplier: 1 });
      });
      const call = nest.ours.call.stream_unary(requests);
      await probe.received[1].promise;
      call.cancel();
      expect(codeOf(await probe.aborted.promise)).toBe('CANCELLED');
      expect(await probe.requests.promise).toBe('CANCELLED');
      expect((await call.status).code).toBe(Status.CANCELLED);
    });

    it('grpc-js cancels a bidi stream served by an async generator: ctx.signal aborts, the requests fail', async () => {
      const call = nest.grpcJs.stream_stream();
      const done = collect(call);
      call.write({ value: 'p' });
      await expect(new Promise((resolve) => call.once('data', resolve))).resolves.toEqual({ message: 'p', seqno: 1 });
      call.cancel();
      expect(codeOf(await probe.aborted.promise)).toBe('CANCELLED');
      expect(await probe.requests.promise).toBe('CANCELLED');
      expect((await done).status.code).toBe(grpc.status.CANCELLED);
    });

    it('our client aborts a bidi stream through its AbortSignal: ctx.signal aborts', async () => {
      const controller = new AbortController();
      const requests = new Observable<ExampleRequest>((subscriber) => subscriber.next({ value: 'q', multiplier: 1 }));
      const replies: ExampleReply[] = [];
      const ended = new Promise<unknown>((resolve) =>
        nest.ours.stream_stream(requests, { signal: controller.signal }).subscribe({
          next: (reply: ExampleReply) => {
            replies.push(reply);
            controller.abort();
          },
          error: resolve,
          complete: () => resolve('completed'),
        }),
      );
      expect(codeOf(await probe.aborted.promise)).toBe('CANCELLED');
      expect(await probe.requests.promise).toBe('CANCELLED');
      expect(replies).toEqual([{ message: 'q', seqno: 1 }]);
      expect(codeOf(await ended)).toBe('CANCELLED');
    });
  });

  describe('deadlines', () => {
    it('a slow unary handler and a short grpc-js deadline: DEADLINE_EXCEEDED, ctx.signal aborted', async () => {
      const error = await grpcJsRejection(grpcJsUnary(nest.grpcJs, 'unary_unary', { value: 'slow' }, new grpc.Metadata(), { deadline: Date.now() + 150 }));
      expect(error.code).toBe(grpc.status.DEADLINE_EXCEEDED);
      const context = await probe.started.promise;
      expect(context.deadline).toBeInstanceOf(Date);
      // The client's timer and the server's race: the server sees its own deadline or the client's cancel.
      expect(['DEADLINE_EXCEEDED', 'CANCELLED']).toContain(codeOf(await probe.aborted.promise));
    });

    it('a slow server stream and a short timeout from our client: DEADLINE_EXCEEDED after the first message, ctx.signal aborted', async () => {
      const replies: ExampleReply[] = [];
      const before = Date.now();
      const error = await rejection(
        new Promise((resolve, reject) =>
          nest.ours.unary_stream({ value: 'slow', multiplier: 1 }, { timeout: 150 }).subscribe({ next: (reply: ExampleReply) => replies.push(reply), error: reject, complete: resolve }),
        ),
      );
      expect(error.code).toBe(Status.DEADLINE_EXCEEDED);
      expect(replies).toEqual([{ message: 'first', seqno: 1 }]);
      const context = await probe.started.promise;
      // The server's deadline is the client's timeout counted from when the headers arrived.
      expect(context.deadline!.getTime() - before).toBeGreaterThanOrEqual(150);
      expect(context.deadline!.getTime() - before).toBeLessThan(1150);
      expect(['DEADLINE_EXCEEDED', 'CANCELLED']).toContain(codeOf(await probe.aborted.promise));
    });

    it('the server enforces the deadline itself (a client that never cancels): DEADLINE_EXCEEDED status, signal reason DEADLINE_EXCEEDED', async () => {
      const session = await connectRaw(nest.port);
      try {
        const request = frame(Buffer.from([0x0a, 0x04, ...Buffer.from('slow')]));
        const response = await rawCall(session, grpcHeaders('/nameko.example/unary_unary', { 'grpc-timeout': '100m' }), request);
        expect(grpcStatus(response)).toBe(Status.DEADLINE_EXCEEDED);
        expect(codeOf(await probe.aborted.promise)).toBe('DEADLINE_EXCEEDED');
      } finally {
        session.destroy();
      }
    });
  });
});
