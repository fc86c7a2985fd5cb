/**
 * `GrpcTransport`, the Nest microservice strategy: it collects the `@GrpcMethod` handlers Nest
 * registers, binds them to RPCs of their services, and serves them with a GrpcServer.
 */
import { type CustomTransportStrategy, type MessageHandler, RpcException, Server } from '@nestjs/microservices';
import { HttpException, Logger, type LoggerService } from '@nestjs/common';
import { from, isObservable, mergeMap, of } from 'rxjs';
import { type LoadOptions, loadStubs } from '../protocol/load-stub.js';
import { type MethodDescriptor, type ServiceDescriptor, type Stub, toServiceDescriptor } from '../protocol/stub.js';
import { GrpcServer, type GrpcServerOptions } from '../server/grpc-server.js';
import type { CallHandler } from '../server/call-init.js';
import { camelCase } from '../protocol/method-name.js';
import { parseListenTarget, peerAddress } from '../server/addresses.js';
import type { GrpcBinding } from './grpc-implementing.js';
import { pullSource } from './iterable-result.js';
import { fromHttpException, fromRpcError, fromRpcException } from './nest-error-mapping.js';
import { GRPC_BINDING_EXTRA, GRPC_METHOD_EXTRA, GRPC_TRANSPORT } from './transport-id.js';
import { isAsyncIterable } from '../transport/value-pump.js';

/** Options of GrpcTransport: those of GrpcServer, plus where to listen and where the services come from. */
export interface GrpcTransportOptions extends GrpcServerOptions {
  /** The address to listen on (default `0.0.0.0:50051`; port 0 picks a free port), or a unix socket (`unix:path`, `unix:///absolute/path`, `unix-abstract:name`). */
  url?: string;
  /** `.proto` files whose services `@GrpcImplementing('package.Service')` may name. */
  protos?: string | string[];
  /** How `protos` are read (include folders, field-name case, object conversion). */
  loader?: LoadOptions;
  /** Extra stubs whose services `@GrpcImplementing` may name. */
  stubs?: Stub[];
  /** How long `app.close()` lets in-flight calls finish before cancelling them (default 10 000 ms). */
  shutdownGraceMs?: number;
}

/**
 * Stands for every thrown value in `registerErrorHandler`, primitives (`throw 'text'`) included,
 * which `Object` would not match.
 */
class AnyThrown {
  static [Symbol.hasInstance](_value: unknown): boolean {
    return true;
  }
}

/**
 * A Nest handler's streamed result. An async generator's result that no interceptor piped is
 * pulled (it keeps its backpressure); an Observable is subscribed, and an array or async iterable
 * it emits (an interceptor returned one) is flattened into messages.
 */
async function streamResult(result: Promise<unknown>): Promise<unknown> {
  const value = await result;
  if (!isObservable(value)) return value;
  const source = pullSource(value);
  if (source !== undefined) return source;
  return value.pipe(mergeMap((item) => (Array.isArray(item) || isAsyncIterable(item) ? from(item) : of(item))));
}

/**
 * The Nest custom transport for gRPC: `NestFactory.createMicroservice(AppModule, { strategy: new
 * GrpcTransport({ url, protos }) })`, or `app.connectMicroservice({ strategy })` in a hybrid
 * app. Controllers marked `@GrpcImplementing(stub)` serve their `@GrpcMethod` handlers with
 * guards, interceptors, pipes and filters applied (context type `'rpc'`). A handler naming an
 * RPC its service lacks, or a second handler for one RPC, fails bootstrap; RPCs without a
 * handler answer UNIMPLEMENTED. `unwrap()` gives the GrpcServer; `close()` drains gracefully.
 */
export class GrpcTransport extends Server implements CustomTransportStrategy {
  override readonly transportId = GRPC_TRANSPORT;
  /** Nest's Logger under the context `GrpcTransport` (Nest's base Server would log as `Server`). */
  protected override readonly logger: LoggerService = new Logger(GrpcTransport.name);
  private readonly server: GrpcServer;
  private readonly bindings = new Map<string, string>();

  constructor(private readonly options: GrpcTransportOptions = {}) {
    super();
    this.server = new GrpcServer(options);
    // The last resort, asked after the handlers below: RPC error payloads, and otherwise the
    // error (a primitive too) is logged, since the client sees only UNKNOWN with a generic message.
    this.server.registerErrorHandler(AnyThrown, (error) => {
      const mapped = error instanceof Object ? fromRpcError(error) : undefined;
      if (mapped === undefined) this.logUnexpected(error);
      return mapped;
    });
    this.server.registerErrorHandler(HttpException, fromHttpException);
    this.server.registerErrorHandler(RpcException, fromRpcException);
  }

  /** Refuses a second handler for the same RPC, which Nest would otherwise overwrite silently. */
  override addHandler(pattern: unknown, callback: MessageHandler, isEventHandler = false, extras: Record<string, unknown> = {}): void {
    const binding = extras[GRPC_BINDING_EXTRA] as GrpcBinding | undefined;
    if (binding !== undefined) {
      const key = `${binding.service}/${binding.rpc}`;
      const previous = this.bindings.get(key);
      if (previous !== undefined) throw new Error(`Two handlers for ${key}: ${previous} and ${binding.handlerName}`);
      this.bindings.set(key, binding.handlerName);
    }
    super.addHandler(pattern, callback, isEventHandler, extras);
  }

  /** Binds every handler and starts listening; Nest calls it on `app.listen()`. Bootstrap errors reach the callback. */
  listen(callback: (error?: unknown, info?: unknown) => void): void {
    this.start().then(
      () => callback(),
      (error: unknown) => callback(error),
    );
  }

  private knownServices(): Map<string, ServiceDescriptor> {
    const services = new Map<string, ServiceDescriptor>();
    if (this.options.protos !== undefined) {
      for (const service of Object.values(loadStubs(this.options.protos, undefined, this.options.loader))) services.set(service.name, service);
    }
    for (const stub of this.options.stubs ?? []) {
      const service = toServiceDescriptor(stub);
      services.set(service.name, service);
    }
    return services;
  }

  private async start(): Promise<void> {
    const services = this.knownServices();
    const served = new Map<string, string[]>();
    const handlerOfPath = new Map<string, string>();
    for (const [pattern, handler] of this.getHandlers()) {
      const extras = handler.extras as Record<string, unknown> | undefined;
      const binding = extras?.[GRPC_BINDING_EXTRA] as GrpcBinding | undefined;
      if (binding === undefined) {
        // Nest offers every server the @MessagePattern/@EventPattern handlers that name no transport: they are another transport's.
        if (extras?.[GRPC_METHOD_EXTRA] !== true) continue;
        throw new Error(`The @GrpcMethod handler ${pattern} is in a class without @GrpcImplementing(stub)`);
      }
      const service = binding.stub !== undefined ? toServiceDescriptor(binding.stub) : services.get(binding.service);
      if (service === undefined) {
        throw new Error(`${binding.handlerName} implements ${binding.service}, which is in neither the protos nor the stubs given to GrpcTransport`);
      }
      services.set(service.name, service);
      const method = service.methods[binding.rpc] ?? Object.values(service.methods).find((m) => camelCase(m.name) === binding.rpc);
      if (method === undefined) {
        throw new Error(`${binding.handlerName} is bound to ${service.name}/${binding.rpc}, which the service does not have; its RPCs are ${Object.keys(service.methods).join(', ')}`);
      }
      // Two handlers may name one RPC differently (`unary_unary` and `unaryUnary`): compare resolved paths.
      const previous = handlerOfPath.get(method.path);
      if (previous !== undefined) throw new Error(`Two handlers for ${service.name}/${method.name}: ${previous} and ${binding.handlerName}`);
      handlerOfPath.set(method.path, binding.handlerName);
      this.server.addMethod(method, this.adapt(handler, method));
      served.set(service.name, [...(served.get(service.name) ?? []), method.name]);
    }
    const url = this.options.url ?? '0.0.0.0:50051';
    const port = await this.server.listen(url);
    const bound = parseListenTarget(url);
    this.logger.log(`gRPC server listening on ${'path' in bound ? url.trim() : peerAddress(bound.host, port)}`);
    for (const [name, methods] of served) {
      this.logger.log(`Serving ${name}: ${methods.join(', ')}`);
      const missing = Object.keys(services.get(name)?.methods ?? {}).filter((rpc) => !methods.includes(rpc));
      if (missing.length > 0) this.logger.warn(`${name} has no handler for ${missing.join(', ')}: those calls answer UNIMPLEMENTED`);
    }
  }

  /**
   * The server's handler for a Nest handler. Nest resolves to the handler's value, or to an
   * Observable (made by an interceptor or by the exception filters); for a single response the
   * server takes that Promise as it is (and an Observable's last value), without another promise
   * per call. Failures, wherever they surface, reach the error handlers registered above.
   */
  private adapt(handler: MessageHandler, method: MethodDescriptor): CallHandler {
    if (!method.responseStream) return handler as CallHandler;
    return (request, context) => streamResult(handler(request, context) as Promise<unknown>);
  }

  /** Logs an error the client sees only as UNKNOWN with a generic message: its text stays on the server. */
  private logUnexpected(error: unknown): void {
    this.logger.error(error instanceof Error ? (error.stack ?? error.message) : `Unexpected throw: ${String(error)}`);
  }

  /** The bound port, once listening. */
  get port(): number | undefined {
    return this.server.port;
  }

  /** Drains gracefully: health turns NOT_SERVING, calls are still served for `shutdownDelayMs`, then new calls are refused and in-flight ones may finish within `shutdownGraceMs`. */
  async close(): Promise<void> {
    await this.server.shutdown({ graceMs: this.options.shutdownGraceMs });
  }

  /** The underlying GrpcServer. */
  unwrap<T>(): T {
    return this.server as T;
  }

  /** GrpcTransport emits no events; registering a listener is accepted and has no effect. */
  on(): void {}
}
