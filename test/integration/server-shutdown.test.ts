import * as grpc from '@grpc/grpc-js';
import { Observable } from 'rxjs';
import { GrpcContext, GrpcError, GrpcServer, Status } from '../../lib/index.js';
import { type ExampleRequest, exampleImplementation, exampleStub } from '../helpers/example-service.js';
import { collect, grpcJsUnary } from '../helpers/grpc-js.js';
import { deferred, type ExampleClient, Harness, whenAborted } from '../helpers/harness.js';

/** A server whose unary_unary 'hold' calls and unary_stream calls wait until released (or aborted). */
function holdingImplementation() {
  const started = deferred<GrpcContext>();
  const release = deferred();
  return {
    started,
    release,
    implementation: {
      ...exampleImplementation,
      async unary_unary(request: ExampleRequest, ctx: GrpcContext) {
        if (request.value !== 'hold') return exampleImplementation.unary_unary(request);
        started.resolve(ctx);
        await release.promise;
        return { message: 'finished in grace' };
      },
      unary_stream: (_request: ExampleRequest, ctx: GrpcContext) =>
        new Observable((subscriber) => {
          subscriber.next({ message: 'first', seqno: 1 });
          started.resolve(ctx);
          void release.promise.then(() => subscriber.complete());
        }),
    },
  };
}

function unaryOutcome(client: ExampleClient, value: string): Promise<{ message?: string; code?: number }> {
  return grpcJsUnary(client, 'unary_unary', { value }, new grpc.Metadata(), { deadline: Date.now() + 5000 }).then(
    ({ response }) => ({ message: response.message as string }),
    (error: grpc.ServiceError) => ({ code: error.code }),
  );
}

/** Resolves when the grpc-js client's channel reaches `state` (bounded by the test timeout). */
async function channelReaches(client: grpc.Client, state: grpc.connectivityState): Promise<void> {
  const channel = client.getChannel();
  for (let current = channel.getConnectivityState(false); current !== state; current = channel.getConnectivityState(false)) {
    await new Promise<void>((resolve) => channel.watchConnectivityState(current, Date.now() + 10_000, () => resolve()));
  }
}

describe('GrpcServer shutdown', () => {
  const harness = new Harness();
  afterEach(() => harness.close());

  it('graceful: sends GOAWAY, refuses new calls UNAVAILABLE, lets an in-flight call finish, then resolves', async () => {
    const { started, release, implementation } = holdingImplementation();
    const { server, port } = await harness.serve(implementation);
    const client = harness.client(port);
    const session = await harness.raw(port);
    const goaway = new Promise<number>((resolve) => session.once('goaway', (code: number) => resolve(code)));

    const inFlight = unaryOutcome(client, 'hold');
    const ctx = await started.promise;
    let resolved = false;
    const done = server.shutdown({ graceMs: 20_000 }).then(() => (resolved = true));

    expect(await goaway).toBe(0); // NO_ERROR
    // A new connection is refused, and the existing one is told to go away: both fail UNAVAILABLE.
    expect(await unaryOutcome(harness.client(port), 'new')).toEqual({ code: grpc.status.UNAVAILABLE });
    await channelReaches(client, grpc.connectivityState.IDLE).catch(() => undefined);
    expect(await unaryOutcome(client, 'new')).toEqual({ code: grpc.status.UNAVAILABLE });
    expect(resolved).toBe(false);

    release.resolve();
    expect(await inFlight).toEqual({ message: 'finished in grace' });
    await done;
    expect(ctx.signal.aborted).toBe(false);
  });

  it('graceful: lets an in-flight stream finish with its trailers', async () => {
    const { started, release, implementation } = holdingImplementation();
    const { server, port } = await harness.serve(implementation);
    const call = collect(harness.client(port).unary_stream({ value: 'a' }));
    await started.promise;
    const done = server.shutdown({ graceMs: 20_000 });
    release.resolve();
    const { messages, status } = await call;
    expect(messages.map((m) => m.message)).toEqual(['first']);
    expect(status.code).toBe(grpc.status.OK);
    await done;
  });

  it('graceful: cancels calls still running when the grace period ends', async () => {
    const { started, implementation } = holdingImplementation();
    const { server, port } = await harness.serve(implementation);
    const inFlight = unaryOutcome(harness.client(port), 'hold');
    const ctx = await started.promise;
    await server.shutdown({ graceMs: 50 });
    const reason = await whenAborted(ctx.signal);
    expect(reason).toBeInstanceOf(GrpcError);
    expect((reason as GrpcError).code).toBe(Status.UNAVAILABLE);
    expect([grpc.status.UNAVAILABLE, grpc.status.CANCELLED]).toContain((await inFlight).code);
  });

  it('graceful: resolves at once with only idle connections open', async () => {
    const { server, port } = await harness.serve(exampleImplementation);
    const client = harness.client(port);
    expect(await unaryOutcome(client, 'x')).toEqual({ message: 'x' });
    // A 60 s grace must not be waited out when nothing is in flight (the test timeout is 30 s).
    await server.shutdown({ graceMs: 60_000 });
  });

  it('forceShutdown cancels in-flight unary and streaming calls: handler signals abort, clients fail', async () => {
    const unary = holdingImplementation();
    const stream = holdingImplementation();
    const { server, port } = await harness.serve({ ...unary.implementation, unary_stream: stream.implementation.unary_stream });
    const client = harness.client(port);
    const unaryCall = unaryOutcome(client, 'hold');
    const stream$ = client.unary_stream({ value: 'a' });
    const firstMessage = new Promise((resolve) => stream$.once('data', resolve));
    const streamCall = collect(stream$);
    const [unaryCtx, streamCtx] = await Promise.all([unary.started.promise, stream.started.promise, firstMessage]);

    server.forceShutdown();
    const reasons = await Promise.all([whenAborted(unaryCtx.signal), whenAborted(streamCtx.signal)]);
    for (const reason of reasons) expect((reason as GrpcError).code).toBe(Status.UNAVAILABLE);
    expect([grpc.status.UNAVAILABLE, grpc.status.CANCELLED]).toContain((await unaryCall).code);
    const { messages, status } = await streamCall;
    expect(messages.map((m) => m.message)).toEqual(['first']);
    expect([grpc.status.UNAVAILABLE, grpc.status.CANCELLED]).toContain(status.code);
    expect(await unaryOutcome(harness.client(port), 'after')).toEqual({ code: grpc.status.UNAVAILABLE });
  });

  it('forceShutdown during a graceful shutdown ends it at once', async () => {
    const { started, implementation } = holdingImplementation();
    const { server, port } = await harness.serve(implementation);
    const inFlight = unaryOutcome(harness.client(port), 'hold');
    const ctx = await started.promise;
    const graceful = server.shutdown({ graceMs: 60_000 });
    server.forceShutdown();
    await graceful;
    expect(ctx.signal.aborted).toBe(true);
    expect((await inFlight).code).toBeDefined();
  });

  it('is idempotent: shutdown and forceShutdown may be called repeatedly, in any order', async () => {
    const { server, port } = await harness.serve(exampleImplementation);
    expect(await unaryOutcome(harness.client(port), 'x')).toEqual({ message: 'x' });
    const first = server.shutdown();
    const second = server.shutdown({ graceMs: 1 });
    expect(second).toBe(first);
    await Promise.all([first, second]);
    server.forceShutdown();
    server.forceShutdown();
    await server.shutdown();
    await expect(server.listen('127.0.0.1:0')).rejects.toThrow();

    const forced = new GrpcServer();
    forced.addService(exampleStub, exampleImplementation);
    await forced.listen('127.0.0.1:0');
    forced.forceShutdown();
    forced.forceShutdown();
    await forced.shutdown();
    await forced.shutdown();

    const neverListened = new GrpcServer();
    await neverListened.shutdown();
    neverListened.forceShutdown();
  });
});
