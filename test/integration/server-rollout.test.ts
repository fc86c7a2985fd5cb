/**
 * What a rolling update needs from the server: health turns NOT_SERVING the moment shutdown
 * begins while calls are still served for `shutdownDelayMs` (GrpcServer and Nest's app.close()),
 * draining only then; and `maxConnectionAgeMs` moves a busy client to new connections without
 * a single failed call.
 */
import { GrpcClient, type GrpcContext, GrpcServer, type GrpcServerOptions, healthStub } from '../../lib/index.js';
import { AppModule } from '../../sample/app.module.js';
import { type ExampleRequest, exampleStub } from '../helpers/example-service.js';
import { deferred } from '../helpers/harness.js';
import { startNestApp } from '../helpers/nest-app.js';
import { connectRaw } from '../helpers/raw-http2.js';

/** A server of nameko.example with health; its unary_unary 'hold' calls wait for `release`, and every call's peer is recorded. */
async function startServer(options: GrpcServerOptions) {
  const release = deferred();
  const held = deferred();
  const peers: string[] = [];
  const server = new GrpcServer({ health: true, ...options });
  server.addService(exampleStub, {
    async unary_unary(request: ExampleRequest, ctx: GrpcContext) {
      peers.push(ctx.peer);
      if (request.value === 'hold') {
        held.resolve();
        await release.promise;
      }
      return { message: request.value, seqno: 0 };
    },
  });
  const port = await server.listen('127.0.0.1:0');
  return { server, port, release, held, peers };
}

describe('shutdownDelayMs: NOT_SERVING first, draining later', () => {
  const cleanup: Array<() => void> = [];
  afterEach(() => {
    for (const close of cleanup.splice(0)) close();
  });

  it('during the delay, Check answers NOT_SERVING while in-flight calls, new calls and new connections are still served', async () => {
    const { server, port, release, held } = await startServer({ shutdownDelayMs: 60_000 });
    const client = new GrpcClient(`127.0.0.1:${port}`, exampleStub);
    const health = new GrpcClient(`127.0.0.1:${port}`, healthStub());
    cleanup.push(() => client.close(), () => health.close(), () => server.forceShutdown());
    expect(await health.Check({ service: '' })).toEqual({ status: 'SERVING' });
    const inFlight = client.unary_unary({ value: 'hold', multiplier: 0 });
    await held.promise;

    let stopped = false;
    const shutdown = server.shutdown().then(() => (stopped = true));
    expect(await health.Check({ service: '' })).toEqual({ status: 'NOT_SERVING' });
    expect(await health.Check({ service: 'nameko.example' })).toEqual({ status: 'NOT_SERVING' });
    expect(await client.unary_unary({ value: 'new call', multiplier: 0 })).toEqual({ message: 'new call', seqno: 0 });
    const another = new GrpcClient(`127.0.0.1:${port}`, exampleStub);
    cleanup.push(() => another.close());
    expect(await another.unary_unary({ value: 'new connection', multiplier: 0 })).toEqual({ message: 'new connection', seqno: 0 });
    release.resolve();
    expect(await inFlight).toEqual({ message: 'hold', seqno: 0 });
    expect(stopped).toBe(false);

    // forceShutdown ends the delay: the shutdown resolves at once instead of after 60 s.
    server.forceShutdown();
    await shutdown;
  });

  it('draining (GOAWAY) begins when the delay ends, not before; shutdown({ delayMs }) overrides the option', async () => {
    const { server, port } = await startServer({ shutdownDelayMs: 60_000 });
    cleanup.push(() => server.forceShutdown());
    const session = await connectRaw(port);
    cleanup.push(() => session.destroy());
    const goaway = new Promise<number>((resolve) => session.once('goaway', () => resolve(Date.now())));
    const started = Date.now();
    await server.shutdown({ delayMs: 300 });
    expect((await goaway) - started).toBeGreaterThanOrEqual(290);
    expect(server.health.getStatus('')).toBe('NOT_SERVING');
  });

  it("Nest (the sample app): app.close() with shutdownDelayMs turns health NOT_SERVING and keeps serving calls until the delay ends", async () => {
    const nest = await startNestApp(AppModule, { transport: { health: true, shutdownDelayMs: 60_000 } });
    const health = new GrpcClient(`127.0.0.1:${nest.port}`, healthStub());
    cleanup.push(() => health.close(), () => nest.ours.close(), () => nest.grpcJs.close());
    expect(await health.Check({ service: '' })).toEqual({ status: 'SERVING' });
    let closed = false;
    const closing = nest.app.close().then(() => (closed = true));
    expect(await health.Check({ service: '' })).toEqual({ status: 'NOT_SERVING' });
    expect(await nest.ours.unary_unary({ value: 'still served' })).toEqual({ message: 'still served', seqno: 0 });
    expect(closed).toBe(false);
    nest.transport.unwrap<GrpcServer>().forceShutdown();
    await closing;
  });
});

describe('maxConnectionAgeMs under load', () => {
  it('4 callers on one GrpcClient keep calling across several connection ages: no call fails, and the server sees several connections', async () => {
    const { server, port, peers } = await startServer({ maxConnectionAgeMs: 150, maxConnectionAgeGraceMs: 10_000 });
    const client = new GrpcClient(`127.0.0.1:${port}`, exampleStub);
    const failures: unknown[] = [];
    let calls = 0;
    try {
      // Each caller calls until the server has seen 4 connections (3 max_age GOAWAYs), bounded by a count.
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          while (new Set(peers).size < 4 && calls < 200_000) {
            calls += 1;
            await client.unary_unary({ value: 'x', multiplier: 0 }).catch((error: unknown) => failures.push(error));
          }
        }),
      );
      expect(failures).toEqual([]);
      expect(new Set(peers).size).toBeGreaterThanOrEqual(4);
    } finally {
      client.close();
      server.forceShutdown();
    }
  }, 60_000);
});
