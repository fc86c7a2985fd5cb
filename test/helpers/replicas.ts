/**
 * Replicas for proxy tests: GrpcServers of nameko.example that name themselves in replies and
 * record what their handlers saw (calls, connections, metadata, aborts), a gate that holds calls
 * until released, and a load of callers that keep calling.
 */
import { Observable } from 'rxjs';
import { type GrpcContext, GrpcError, GrpcServer, type GrpcServerOptions, Metadata, type MessageStream, packDetail, Status } from '../../lib/index.js';
import type { ExampleReply, ExampleRequest } from './example-service.js';
import { deferred, type Deferred, whenAborted } from './harness.js';
import { typedExampleStub as exampleStub } from './typed-example.js';

/** Bytes of every binary metadata value, so that base64 of all of them crosses nginx. */
export const EVERY_BYTE = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
/** A status message with accents, symbols, an emoji and a percent sign. */
export const UNICODE_MESSAGE = 'Ungültige Eingabe: ✓ 🚀 «quoted» 100%';

/** Where 'hold' calls wait, on every replica, until released: it knows the connection (peer) of each. */
export class HoldGate {
  readonly peers: string[] = [];
  readonly released = deferred();
  private waiter: { count: number; reached: () => void } | undefined;

  /** A call arrived from `peer`; resolves when the gate is released. */
  hold(peer: string): Promise<void> {
    this.peers.push(peer);
    if (this.waiter !== undefined && this.peers.length >= this.waiter.count) this.waiter.reached();
    return this.released.promise;
  }

  /** Resolves once `count` calls are held. */
  holding(count: number): Promise<void> {
    if (this.peers.length >= count) return Promise.resolve();
    return new Promise((resolve) => (this.waiter = { count, reached: resolve }));
  }
}

/** One replica: a GrpcServer that names itself in replies and records what its handlers saw. */
export class Replica {
  readonly server: GrpcServer;
  calls = 0;
  readonly peers = new Set<string>();
  lastMetadata: Metadata | undefined;
  /** The deadline of the last call (from its grpc-timeout), if it had one. */
  lastDeadline: Date | undefined;
  /** The connection (nginx's address and port) of every call, in order. */
  readonly peerLog: string[] = [];
  gate = new HoldGate();
  /** Settled with the abort reason of the next handler that waits for its signal. */
  aborted: Deferred<unknown> = deferred<unknown>();
  /** Settled when a handler starts waiting for its signal. */
  waiting: Deferred<void> = deferred();
  port = 0;

  constructor(
    readonly name: string,
    options: GrpcServerOptions = {},
  ) {
    this.server = new GrpcServer(options);
    const seen = (ctx: GrpcContext) => {
      this.calls += 1;
      this.peers.add(ctx.peer);
      this.peerLog.push(ctx.peer);
      this.lastMetadata = ctx.metadata;
      this.lastDeadline = ctx.deadline;
    };
    this.server.addService(exampleStub, {
      unary_unary: async (request: ExampleRequest, ctx: GrpcContext): Promise<ExampleReply> => {
        seen(ctx);
        switch (request.value) {
          case 'metadata':
            ctx.sendInitialMetadata(new Metadata({ 'x-replica': this.name, 'x-echo-bin': ctx.metadata.get('x-bytes-bin') }));
            ctx.trailingMetadata.set('x-trailer-bin', EVERY_BYTE);
            ctx.trailingMetadata.set('x-trailer', 'done');
            return { message: this.name, seqno: 0 };
          case 'error':
            throw new GrpcError(
              Status.FAILED_PRECONDITION,
              UNICODE_MESSAGE,
              [packDetail('ErrorInfo', { reason: 'REPLICA_SAYS_NO', domain: 'example.com', metadata: { replica: this.name } })],
              new Metadata({ 'x-error-bin': EVERY_BYTE }),
            );
          case 'hold':
            await this.gate.hold(ctx.peer);
            return { message: this.name, seqno: 0 };
          case 'wait':
            this.waiting.resolve();
            this.aborted.resolve(await whenAborted(ctx.signal));
            return { message: 'too late', seqno: 0 };
          default:
            return { message: `${this.name}:${request.value}`, seqno: request.multiplier };
        }
      },
      unary_stream: (request: ExampleRequest, ctx: GrpcContext): Observable<ExampleReply> => {
        seen(ctx);
        return new Observable<ExampleReply>((subscriber) => {
          for (let seqno = 1; seqno <= request.multiplier; seqno++) subscriber.next({ message: `${this.name}:${request.value}`, seqno });
          if (request.value === 'then-wait') {
            void whenAborted(ctx.signal).then((reason) => this.aborted.resolve(reason));
            return;
          }
          if (request.value === 'then-fail') subscriber.error(new GrpcError(Status.RESOURCE_EXHAUSTED, UNICODE_MESSAGE));
          else subscriber.complete();
        });
      },
      stream_unary: async (requests: MessageStream<ExampleRequest>, ctx: GrpcContext): Promise<ExampleReply> => {
        seen(ctx);
        let bytes = 0;
        let count = 0;
        for await (const request of requests) {
          bytes += request.value.length;
          count += 1;
        }
        return { message: `${this.name}:${count} messages, ${bytes} bytes`, seqno: count };
      },
      stream_stream: async function* (requests: MessageStream<ExampleRequest>, ctx: GrpcContext): AsyncIterable<ExampleReply> {
        seen(ctx);
        for await (const request of requests) yield { message: request.value.toUpperCase(), seqno: request.multiplier };
      }.bind(this),
    });
  }

  async start(): Promise<string> {
    this.port = await this.server.listen('127.0.0.1:0');
    return `127.0.0.1:${this.port}`;
  }
}

/** Callers each making one call after another until stopped, counting successes and keeping failures. */
export class CallLoad {
  ok = 0;
  readonly failures: string[] = [];
  private stopped = false;
  private readonly callers: Promise<void>[];
  private waiter: { count: number; reached: () => void } | undefined;
  private readonly failed = deferred();

  constructor(call: () => Promise<unknown>, callers: number) {
    this.callers = Array.from({ length: callers }, async () => {
      while (!this.stopped) {
        await call().then(
          () => this.count(),
          (error: unknown) => {
            this.failures.push(String(error));
            this.failed.resolve();
          },
        );
      }
    });
  }

  /** Resolves once a call has failed. */
  firstFailure(): Promise<void> {
    return this.failed.promise;
  }

  private count(): void {
    this.ok += 1;
    if (this.waiter !== undefined && this.ok >= this.waiter.count) this.waiter.reached();
  }

  /** Resolves once `count` calls in all have succeeded. */
  succeeded(count: number): Promise<void> {
    if (this.ok >= count) return Promise.resolve();
    return new Promise((resolve) => (this.waiter = { count, reached: resolve }));
  }

  /** Lets each caller finish its current call, then stops. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.callers);
  }
}
