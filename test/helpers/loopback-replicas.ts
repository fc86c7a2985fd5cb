/**
 * Replicas of the nameko.example service for client resolution and load-balancing tests: one
 * server per loopback IP (127.0.0.1, 127.0.0.2, …), all on the same port as replicas behind
 * one DNS name are, each answering `unary_unary` with its own IP and recording the calls it
 * serves. A replica can be killed (forceShutdown) and started again on the same IP and port.
 */
import * as grpc from '@grpc/grpc-js';
import { type GrpcContext, GrpcServer } from '../../lib/index.js';
import { exampleImplementation } from './example-service.js';
import { deferred } from './harness.js';
import { grpcJsExampleImplementation, exampleClientConstructor } from './grpc-js.js';
import { typedExampleStub as exampleStub } from './typed-example.js';

/** Which server a replica runs: ours or @grpc/grpc-js. */
export type ReplicaKind = 'ours' | 'grpc-js';

/** Wakes waiters when anything a test may wait on changes. */
export class Changes {
  private readonly waiters = new Set<() => void>();

  /** Wakes every waiter. */
  notify(): void {
    for (const wake of [...this.waiters]) wake();
  }

  /** Resolves once `condition()` holds, checked now and after every change; rejects after `timeoutMs` naming `what`. */
  async until(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
    if (condition()) return;
    await new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!condition()) return;
        this.waiters.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.waiters.add(check);
    });
  }
}

/** One replica: a server on `ip:port`, or on a unix socket when `ip` is a `unix:` address. */
export class Replica {
  /** Calls whose handler has finished, except those cut by a kill. */
  served = 0;
  /** The `x-call-id` of every call whose handler started, since the replica was made. */
  readonly seen = new Set<string>();
  /** The `x-call-id` of calls whose handler is running now. */
  readonly active = new Set<string>();
  /** The `:authority` of every call (grpc-js replicas only: our server does not expose it). */
  readonly authorities: string[] = [];
  /** When the current server instance (re)started listening, and when it first started a call after that. */
  startedAt = 0;
  firstCallAt: number | undefined;
  /** Calls with the request value `hold` wait in their handler until this is released. */
  readonly held = deferred();
  /** Bumped by every kill: handlers of a killed server do not count as having served. */
  private generation = 0;
  private ours: GrpcServer | undefined;
  private theirs: grpc.Server | undefined;

  constructor(
    readonly ip: string,
    public port: number,
    private readonly kind: ReplicaKind,
    private readonly changes: Changes,
    /** How long each unary call takes in its handler, as work would (default 0). */
    private readonly workMs = 0,
  ) {}

  /** Binds `ip:port` (the port given, or this replica's) or the unix socket; resolves with the bound port. */
  async start(port = this.port): Promise<number> {
    const address = this.ip.startsWith('unix') ? this.ip : `${this.ip}:${port}`;
    if (this.kind === 'ours') {
      const server = new GrpcServer();
      server.addService(exampleStub, {
        ...exampleImplementation,
        unary_unary: (request: { value: string }, context: GrpcContext) =>
          this.handle(String(context.metadata.first('x-call-id') ?? ''), request.value === 'hold', () => undefined),
      });
      this.ours = server;
      this.port = await server.listen(address);
    } else {
      const server = new grpc.Server();
      server.addService(exampleClientConstructor().service, {
        ...grpcJsExampleImplementation,
        unary_unary: (call: grpc.ServerUnaryCall<any, any>, callback: grpc.sendUnaryData<any>) => {
          const id = String(call.metadata.get('x-call-id')[0] ?? '');
          void this.handle(id, call.request.value === 'hold', () => this.authorities.push(call.getHost())).then((reply) => callback(null, reply));
        },
      });
      this.theirs = server;
      this.port = await new Promise<number>((resolve, reject) =>
        server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
      );
    }
    this.startedAt = performance.now();
    this.firstCallAt = undefined;
    return this.port;
  }

  private async handle(id: string, hold: boolean, record: () => void): Promise<{ message: string; seqno: number }> {
    record();
    const generation = this.generation;
    this.firstCallAt ??= performance.now();
    this.seen.add(id);
    this.active.add(id);
    this.changes.notify();
    if (hold) await this.held.promise;
    else if (this.workMs > 0) await new Promise((resolve) => setTimeout(resolve, this.workMs));
    if (generation === this.generation) {
      this.active.delete(id);
      this.served++;
      this.changes.notify();
    }
    return { message: this.ip, seqno: 0 };
  }

  /** Stops the server at once, cutting its connections; returns the ids of the calls its handlers were running. */
  kill(): string[] {
    const cut = [...this.active];
    this.generation++;
    this.ours?.forceShutdown();
    this.theirs?.forceShutdown();
    this.ours = undefined;
    this.theirs = undefined;
    this.active.clear();
    this.changes.notify();
    return cut;
  }
}

/** A port nothing listens on at 127.0.0.1 (it was free a moment ago): nginx.ts's freePort. */
export { freePort as deadPort } from './nginx.js';

/**
 * Starts `count` replicas on 127.0.0.1, 127.0.0.2, … sharing one port: the first binds port 0,
 * the others that port; on EADDRINUSE every replica is stopped and it starts over.
 */
export async function startLoopbackReplicas(count: number, kind: ReplicaKind, changes = new Changes(), workMs = 0): Promise<Replica[]> {
  for (let attempt = 0; ; attempt++) {
    const replicas = Array.from({ length: count }, (_, i) => new Replica(`127.0.0.${i + 1}`, 0, kind, changes, workMs));
    try {
      const port = await replicas[0].start();
      for (const replica of replicas.slice(1)) await replica.start(port);
      return replicas;
    } catch (error) {
      for (const replica of replicas) replica.kill();
      if (attempt >= 10 || !/EADDRINUSE|No address added|address already in use/i.test(String((error as Error).message))) throw error;
    }
  }
}
