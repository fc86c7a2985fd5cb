import * as grpc from '@grpc/grpc-js';
import { GrpcClient, GrpcContext, GrpcServer, healthStub, Status } from '../../lib/index.js';
import { type ExampleRequest, exampleImplementation, exampleStub } from '../helpers/example-service.js';
import { grpcJsUnary, loadGrpcJsPackage } from '../helpers/grpc-js.js';
import { deferred } from '../helpers/harness.js';

type HealthClient = grpc.Client & Record<string, any>;

/** A @grpc/grpc-js client of grpc.health.v1.Health, from the proto via @grpc/proto-loader. */
function healthClient(port: number): HealthClient {
  const pkg = loadGrpcJsPackage('grpc/health/v1/health.proto') as any;
  const Health = pkg.grpc.health.v1.Health as grpc.ServiceClientConstructor;
  return new Health(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }) as HealthClient;
}

/** Check through grpc-js: the status name, or the failing status code. */
function check(client: HealthClient, service: string): Promise<string | { code: number }> {
  return grpcJsUnary(client, 'Check', { service }).then(
    ({ response }) => response.status as string,
    (error: grpc.ServiceError) => ({ code: error.code }),
  );
}

/** A Watch call through grpc-js, read one message at a time. */
class Watcher {
  private readonly queue: string[] = [];
  private waiting: ((status: string) => void) | undefined;
  readonly ended: Promise<grpc.StatusObject>;
  readonly call: grpc.ClientReadableStream<{ status: string }>;

  constructor(client: HealthClient, service: string) {
    this.call = client.Watch({ service });
    this.call.on('data', ({ status }: { status: string }) => {
      if (this.waiting) {
        this.waiting(status);
        this.waiting = undefined;
      } else this.queue.push(status);
    });
    this.call.on('error', () => undefined);
    this.ended = new Promise((resolve) => this.call.on('status', resolve));
  }

  /** The next status streamed. */
  next(): Promise<string> {
    const queued = this.queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve) => (this.waiting = resolve));
  }

  /** Statuses received and not read yet. */
  get pending(): readonly string[] {
    return this.queue;
  }
}

describe('health checking (grpc.health.v1.Health) with health: true', () => {
  const servers: GrpcServer[] = [];
  const clients: grpc.Client[] = [];
  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
    for (const server of servers.splice(0)) server.forceShutdown();
  });

  async function start(options: { before?: (server: GrpcServer) => void; implementation?: object } = {}) {
    const server = new GrpcServer({ health: true });
    servers.push(server);
    server.addService(exampleStub, options.implementation ?? exampleImplementation);
    options.before?.(server);
    const port = await server.listen('127.0.0.1:0');
    const client = healthClient(port);
    clients.push(client);
    return { server, port, client };
  }

  it('Check: the whole server ("") and every served service are SERVING once listening; an unknown service is NOT_FOUND', async () => {
    const { client } = await start();
    expect(await check(client, '')).toBe('SERVING');
    expect(await check(client, 'nameko.example')).toBe('SERVING');
    expect(await check(client, 'grpc.health.v1.Health')).toBe('SERVING');
    expect(await check(client, 'nameko.missing')).toEqual({ code: grpc.status.NOT_FOUND });
  });

  it('Check follows setStatus and clearStatus; a status set before listen is kept', async () => {
    const { server, client } = await start({ before: (s) => s.health.setStatus('nameko.example', 'NOT_SERVING') });
    expect(await check(client, 'nameko.example')).toBe('NOT_SERVING');
    expect(await check(client, '')).toBe('SERVING');
    server.health.setStatus('nameko.example', 'SERVING');
    server.health.setStatus('custom.component', 'NOT_SERVING');
    expect(await check(client, 'nameko.example')).toBe('SERVING');
    expect(await check(client, 'custom.component')).toBe('NOT_SERVING');
    server.health.clearStatus('custom.component');
    expect(await check(client, 'custom.component')).toEqual({ code: grpc.status.NOT_FOUND });
  });

  it('a service added after listen is SERVING', async () => {
    const { server, client } = await start();
    expect(await check(client, 'fixtures.Other')).toEqual({ code: grpc.status.NOT_FOUND });
    server.addMethod({ ...exampleStub.methods.unary_unary, service: 'fixtures.Other', path: '/fixtures.Other/unary_unary' }, () => ({}));
    expect(await check(client, 'fixtures.Other')).toBe('SERVING');
  });

  it('Watch: sends the current status at once, then each change, never the same status twice', async () => {
    const { server, client } = await start();
    const watcher = new Watcher(client, 'nameko.example');
    expect(await watcher.next()).toBe('SERVING');
    server.health.setStatus('nameko.example', 'NOT_SERVING');
    server.health.setStatus('nameko.example', 'NOT_SERVING');
    server.health.setStatus('nameko.example', 'SERVING');
    server.health.setStatus('other.Service', 'NOT_SERVING');
    expect(await watcher.next()).toBe('NOT_SERVING');
    expect(await watcher.next()).toBe('SERVING');
    // A Check after the changes has answered, so any stray update would have been delivered by now on this connection.
    expect(await check(client, 'nameko.example')).toBe('SERVING');
    expect(watcher.pending).toEqual([]);
    watcher.call.cancel();
    expect((await watcher.ended).code).toBe(grpc.status.CANCELLED);
  });

  it('Watch: an unknown service is SERVICE_UNKNOWN and the call stays open until it gets a status', async () => {
    const { server, client } = await start();
    const watcher = new Watcher(client, 'later.Service');
    expect(await watcher.next()).toBe('SERVICE_UNKNOWN');
    server.health.setStatus('later.Service', 'SERVING');
    expect(await watcher.next()).toBe('SERVING');
    server.health.clearStatus('later.Service');
    expect(await watcher.next()).toBe('SERVICE_UNKNOWN');
    watcher.call.cancel();
  });

  it('shutdown turns every service NOT_SERVING before draining: watchers learn it while calls are still in flight, then their calls end OK', async () => {
    const entered = deferred<GrpcContext>();
    const release = deferred();
    const { server, port, client } = await start({
      implementation: {
        ...exampleImplementation,
        async unary_unary(request: ExampleRequest, ctx: GrpcContext) {
          entered.resolve(ctx);
          await release.promise;
          return exampleImplementation.unary_unary(request);
        },
      },
    });
    const wholeServer = new Watcher(client, '');
    const example = new Watcher(client, 'nameko.example');
    expect(await wholeServer.next()).toBe('SERVING');
    expect(await example.next()).toBe('SERVING');
    const exampleClient = new GrpcClient(`127.0.0.1:${port}`, exampleStub);
    const inFlight = exampleClient.unary_unary({ value: 'a', multiplier: 2 });
    await entered.promise;

    // A long grace: shutdown can only finish early if the Watch calls end by themselves.
    const stopped = server.shutdown({ graceMs: 60_000 });
    expect(server.health.getStatus('')).toBe('NOT_SERVING');
    expect(await wholeServer.next()).toBe('NOT_SERVING');
    expect(await example.next()).toBe('NOT_SERVING');
    expect((await wholeServer.ended).code).toBe(grpc.status.OK);
    expect((await example.ended).code).toBe(grpc.status.OK);

    // Statuses stay NOT_SERVING for good.
    server.health.setStatus('nameko.example', 'SERVING');
    expect(server.health.getStatus('nameko.example')).toBe('NOT_SERVING');

    release.resolve();
    await expect(inFlight).resolves.toEqual({ message: 'aa', seqno: 0 });
    await stopped;
    exampleClient.close();
  });

  it('forceShutdown ends Watch calls too', async () => {
    const { server, client } = await start();
    const watcher = new Watcher(client, '');
    expect(await watcher.next()).toBe('SERVING');
    server.forceShutdown();
    expect(server.health.getStatus('')).toBe('NOT_SERVING');
    await watcher.ended;
  });

  it('GrpcClient with healthStub() checks and watches', async () => {
    const { server, port } = await start();
    const client = new GrpcClient(`127.0.0.1:${port}`, healthStub());
    try {
      await expect(client.Check({ service: 'nameko.example' })).resolves.toEqual({ status: 'SERVING' });
      await expect(client.Check({ service: 'nope' })).rejects.toMatchObject({ code: Status.NOT_FOUND });
      const statuses: string[] = [];
      const done = deferred();
      const subscription = client.Watch({ service: 'nameko.example' }).subscribe({
        next: ({ status }) => {
          statuses.push(status);
          if (statuses.length === 1) server.health.setStatus('nameko.example', 'NOT_SERVING');
          if (statuses.length === 2) done.resolve();
        },
        error: done.reject,
      });
      await done.promise;
      subscription.unsubscribe();
      expect(statuses).toEqual(['SERVING', 'NOT_SERVING']);
    } finally {
      client.close();
    }
  });
});

describe('health checking without the option', () => {
  it('is not served: Check answers UNIMPLEMENTED, though server.health still keeps statuses', async () => {
    const server = new GrpcServer();
    server.addService(exampleStub, exampleImplementation);
    const port = await server.listen('127.0.0.1:0');
    const client = healthClient(port);
    try {
      expect(await check(client, '')).toEqual({ code: grpc.status.UNIMPLEMENTED });
      expect(server.health.getStatus('nameko.example')).toBe('SERVING');
    } finally {
      client.close();
      server.forceShutdown();
    }
  });
});
