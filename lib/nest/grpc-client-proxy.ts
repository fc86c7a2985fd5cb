/** `GrpcClientProxy`: our gRPC client as a Nest ClientProxy, for `ClientsModule.register`. */
import { Logger } from '@nestjs/common';
import { ClientProxy, type ReadPacket, type WritePacket } from '@nestjs/microservices';
import { from, Observable } from 'rxjs';
import type { GrpcClientOptions } from '../client/client-options.js';
import { GrpcClient } from '../client/grpc-client.js';
import { enableCallScope } from '../server/call-scope.js';
import { GrpcError } from '../protocol/grpc-error.js';
import { type LoadOptions, loadStubs } from '../protocol/load-stub.js';
import { Status } from '../protocol/status.js';
import { type ServiceDescriptor, type Stub, toServiceDescriptor } from '../protocol/stub.js';

/** Options of GrpcClientProxy: the client's, plus where and what to call. */
export interface GrpcClientProxyOptions extends GrpcClientOptions {
  /** The target: `host:port`, `dns:///name:port`, `ipv4:…`, `unix:path`, … (see the README's "Targets and load balancing"). */
  url?: string;
  /** Several targets, their addresses pooled; spread by the client's `loadBalancingPolicy` (default `pick_first`). */
  targets?: string[];
  /** Stubs of the services `send` may call. */
  stubs?: Stub[];
  /** `.proto` files whose services `send` may call. */
  protos?: string | string[];
  /** How `protos` are read. */
  loader?: LoadOptions;
}

/**
 * A Nest ClientProxy over GrpcClient, for `ClientsModule.register([{ name, customClass:
 * GrpcClientProxy, options }])`. `send('package.Service/Method', request)` returns an Observable
 * of the response(s) (a request stream may be an Observable or iterable); `getService(stub)`
 * returns the typed GrpcClient; `emit` makes the call and logs a failure instead of reporting
 * it. Connections are made at the first call and closed by `close()`.
 */
export class GrpcClientProxy extends ClientProxy {
  private readonly services = new Map<string, ServiceDescriptor>();
  private readonly clients = new Map<string, GrpcClient<Stub>>();
  private readonly log = new Logger(GrpcClientProxy.name);

  constructor(private readonly options: GrpcClientProxyOptions = {}) {
    super();
    // Its GrpcClients are made at their first call, often inside a handler: the scope they propagate from must be on before.
    if (options.propagate !== false) enableCallScope();
    if (options.protos !== undefined) {
      for (const service of Object.values(loadStubs(options.protos, undefined, options.loader))) this.services.set(service.name, service);
    }
    for (const stub of options.stubs ?? []) {
      const service = toServiceDescriptor(stub);
      this.services.set(service.name, service);
    }
  }

  /** The typed client of a service (one per service, shared by every `send` to it). */
  getService<S extends Stub>(stub: S): GrpcClient<S> {
    const service = toServiceDescriptor(stub);
    this.services.set(service.name, service);
    return this.clientFor(service) as unknown as GrpcClient<S>;
  }

  private clientFor(service: ServiceDescriptor): GrpcClient<Stub> {
    let client = this.clients.get(service.name);
    if (client === undefined) {
      const { url, targets, stubs: _stubs, protos: _protos, loader: _loader, ...clientOptions } = this.options;
      const target = targets ?? url;
      if (target === undefined) throw new Error('GrpcClientProxy needs a url or targets option');
      client = new GrpcClient(target, service, clientOptions);
      this.clients.set(service.name, client);
    }
    return client;
  }

  /** Resolves `package.Service/Method` (a leading slash allowed) to a client method, or throws UNIMPLEMENTED naming what is missing. */
  private rpc(pattern: unknown): (request: unknown) => Promise<unknown> | Observable<unknown> {
    const match = typeof pattern === 'string' ? /^\/?([^/]+)\/([^/]+)$/.exec(pattern) : null;
    if (match === null) throw new GrpcError(Status.UNIMPLEMENTED, `Invalid gRPC pattern ${JSON.stringify(pattern)}: expected "package.Service/Method"`);
    const service = this.services.get(match[1]);
    if (service === undefined) throw new GrpcError(Status.UNIMPLEMENTED, `Unknown service ${match[1]}: add its stub or proto to the GrpcClientProxy options`);
    const method = (this.clientFor(service) as unknown as Record<string, unknown>)[match[2]];
    if (typeof method !== 'function' || service.methods[match[2]] === undefined) {
      throw new GrpcError(Status.UNIMPLEMENTED, `Unknown method ${match[2]} of ${match[1]}`);
    }
    return method as (request: unknown) => Promise<unknown> | Observable<unknown>;
  }

  /** Calls `package.Service/Method`: a cold Observable of the response (or responses); subscribing starts the call, unsubscribing cancels it. */
  override send<TResult = any, TInput = any>(pattern: any, data: TInput): Observable<TResult> {
    return new Observable<TResult>((subscriber) => {
      const result = this.rpc(pattern)(data);
      return (result instanceof Promise ? from(result) : result).subscribe(subscriber as never);
    });
  }

  /** Makes the call now, without waiting for it; a failure is logged. The Observable completes (or errors) when the call ends. */
  override emit<TResult = any, TInput = any>(pattern: any, data: TInput): Observable<TResult> {
    const done = this.dispatchEvent({ pattern, data });
    done.catch((error: unknown) => this.log.error(`gRPC call ${String(pattern)} failed: ${error instanceof Error ? error.message : String(error)}`));
    return from(done.then(() => undefined as TResult));
  }

  /** Connects every client made so far. */
  async connect(): Promise<void> {
    await Promise.all([...this.clients.values()].map((client) => client.connect()));
  }

  /** Closes every client; idempotent. */
  close(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }

  /** The GrpcClients made so far, by service name. */
  unwrap<T>(): T {
    return this.clients as T;
  }

  /**
   * ClientProxy's transport hook, kept for its contract (this class overrides `send`, so Nest does
   * not go through it): makes the call named by `packet.pattern` with `send` and reports each
   * response, then the end or the error, to `callback`; the returned function cancels the call.
   */
  protected publish(packet: ReadPacket, callback: (packet: WritePacket) => void): () => void {
    const subscription = this.send(packet.pattern, packet.data).subscribe({
      next: (response) => callback({ response }),
      error: (err: unknown) => callback({ err, isDisposed: true }),
      complete: () => callback({ isDisposed: true }),
    });
    return () => subscription.unsubscribe();
  }

  /**
   * The hook behind `emit`: makes the call and resolves when it ends (with the response of a
   * unary-response call, undefined for a response stream); rejects with the call's GrpcError.
   */
  protected async dispatchEvent<T = any>(packet: ReadPacket): Promise<T> {
    const result = this.rpc(packet.pattern)(packet.data);
    if (result instanceof Promise) return (await result) as T;
    return new Promise<T>((resolve, reject) => result.subscribe({ error: reject, complete: () => resolve(undefined as T) }));
  }
}
