/**
 * `GrpcServer`, the standalone gRPC server on node:http2: services are added from stubs and
 * implementation objects, calls are routed by path, and shutdown drains in-flight calls.
 */
import http2 from 'node:http2';
import { type Encoding, parseEncodingHeader } from '../protocol/compression.js';
import { DEFAULT_MAX_RECEIVE_MESSAGE_SIZE } from '../protocol/envelope.js';
import { GrpcError } from '../protocol/grpc-error.js';
import { checkRequestHeaders, httpErrorHeaders, type ReceivedHeaders, trailersOnly } from '../protocol/headers.js';
import { Status } from '../protocol/status.js';
import { type MethodDescriptor, type Stub, toServiceDescriptor } from '../protocol/stub.js';
import { clampTimerDelay, parseTimeout } from '../protocol/timeout.js';
import { ErrorMapper, type ErrorHandler } from './error-mapping.js';
import type { CallHandler, CallSettings } from './call-init.js';
import { ServerCall } from './server-call.js';
import { parseListenTarget } from './addresses.js';
import { acceptedEncodings } from './accepted-encodings.js';
import { ExpiryQueue } from './expiry-queue.js';
import { peerIdentity } from './peer-identity.js';
import { implementationFor } from './implementation.js';
import { type ConnectionLimits, type ConnectionOptions, connectionLimits, http2Limits, ServerConnection } from './server-connection.js';
import { HealthService } from '../health/health-service.js';
import { healthStub } from '../health/health-stub.js';
import { ReflectionService } from '../reflection/reflection-service.js';
import { reflectionStub } from '../reflection/reflection-stubs.js';

/** TLS settings of a server. PEM strings or Buffers. */
export interface ServerCredentials {
  /** The server's certificate chain, PEM, leaf first. */
  cert: string | Buffer;
  /** The private key of the leaf certificate, PEM. */
  key: string | Buffer;
  /** CA certificates that client certificates must chain to (mutual TLS). */
  ca?: string | Buffer;
  /** Refuse clients that present no valid certificate (default false). */
  requireClientCert?: boolean;
}

/** Options of a GrpcServer; every one has a default. The connection limits are ConnectionOptions'. */
export interface GrpcServerOptions extends ConnectionOptions {
  /** Largest request message accepted, in bytes, before and after decompression (default 4 MiB; -1 for none). */
  maxReceiveMessageSize?: number;
  /** Largest response message sent, in bytes (default -1: no limit, as in the reference implementation). */
  maxSendMessageSize?: number;
  /** Response compression used whenever the client accepts it (default identity). */
  compression?: Encoding;
  /** Bytes an Observable-producing streaming handler may get ahead of a slow client before the call fails RESOURCE_EXHAUSTED (default 16 MiB). */
  maxBufferedResponseBytes?: number;
  /** Add a google.rpc.DebugInfo (stack and message) to UNKNOWN errors from unexpected throws (default false: never in production). */
  includeErrorDetails?: boolean;
  /** TLS; plaintext HTTP/2 (h2c) without it. */
  credentials?: ServerCredentials;
  /** How long a call of a method with a single request message may wait for that message and the end of the request before it fails DEADLINE_EXCEEDED (default 60 000 ms). */
  requestMessageTimeoutMs?: number;
  /** Serve `grpc.health.v1.Health` from `server.health` (default false). */
  health?: boolean;
  /** Serve server reflection, `grpc.reflection.v1` and `v1alpha`, describing the services from their protos (default false). */
  reflection?: boolean;
  /** The default of `shutdown({ delayMs })`: how long health reports NOT_SERVING while calls are still served before draining begins (default 0). */
  shutdownDelayMs?: number;
}

/** Options of `shutdown`. */
export interface ShutdownOptions {
  /**
   * How long to go on serving, every health status already NOT_SERVING, before draining begins
   * (default: the server's `shutdownDelayMs`, 0). Load balancers that poll health (Kubernetes
   * readiness probes) then stop routing before connections are closed.
   */
  delayMs?: number;
  /** How long in-flight calls may run on, once draining has begun, before they are cancelled (default 10 000 ms). */
  graceMs?: number;
}

/** The 'error' listener of every stream and session: their errors end them, and the calls on them, without further ado. */
function ignore(): void {}

/** A method's registration: its descriptor and the function that serves it. */
interface Route {
  method: MethodDescriptor;
  handler: CallHandler;
}

/** The server's life cycle. */
enum ServerState {
  Idle,
  Listening,
  Draining,
  Stopped,
}

/**
 * A gRPC server. Add services before or after `listen`; `listen` binds one address and resolves
 * with the port. `shutdown` is graceful (GOAWAY, in-flight calls may finish within the grace,
 * then they are cancelled); `forceShutdown` cancels everything now. Both are idempotent.
 */
export class GrpcServer {
  private readonly routes = new Map<string, Route>();
  private readonly services = new Set<string>();
  private readonly calls = new Set<ServerCall>();
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  private readonly connections = new WeakMap<http2.Http2Session, ServerConnection>();
  private readonly limits: ConnectionLimits;
  private readonly errors: ErrorMapper;
  private readonly settings: CallSettings;
  private http2Server: http2.Http2Server | http2.Http2SecureServer | undefined;
  private state = ServerState.Idle;
  private stopped: Promise<void> | undefined;
  private endDelay: (() => void) | undefined;
  /**
   * The serving status of each service, served as `grpc.health.v1.Health` with `health: true`:
   * SERVING once listening, NOT_SERVING from the start of shutdown; `setStatus` changes it.
   */
  readonly health = new HealthService();

  constructor(private readonly options: GrpcServerOptions = {}) {
    this.errors = new ErrorMapper(options.includeErrorDetails ?? false);
    this.settings = {
      maxReceiveMessageSize: options.maxReceiveMessageSize ?? DEFAULT_MAX_RECEIVE_MESSAGE_SIZE,
      maxSendMessageSize: options.maxSendMessageSize ?? -1,
      defaultCompression: options.compression ?? 'identity',
      maxBufferedResponseBytes: options.maxBufferedResponseBytes ?? 16 * 1024 * 1024,
      requestTimeouts: new ExpiryQueue(options.requestMessageTimeoutMs ?? 60_000),
      errors: this.errors,
    };
    this.limits = connectionLimits(options);
    if (options.health === true) this.addService(healthStub(), this.health.implementation);
    if (options.reflection === true) {
      const reflection = new ReflectionService({ serviceNames: () => this.services, methods: () => [...this.routes.values()].map((route) => route.method) });
      for (const version of ['v1', 'v1alpha'] as const) this.addService(reflectionStub(version), reflection.implementation);
    }
  }

  /**
   * Serves a service: `implementation` has one method per RPC, named as in the proto or as the
   * camelCase form of it. RPCs it lacks answer UNIMPLEMENTED. Returns the RPC names served.
   */
  addService<S extends Stub>(stub: S, implementation: object): string[] {
    const service = toServiceDescriptor(stub);
    this.services.add(service.name);
    const served: string[] = [];
    for (const method of Object.values(service.methods)) {
      const handler = implementationFor(implementation, method.name);
      if (handler === undefined) continue;
      this.addMethod(method, handler);
      served.push(method.name);
    }
    return served;
  }

  /** Serves one method with a handler; a second registration of the same path throws. */
  addMethod(method: MethodDescriptor, handler: CallHandler): void {
    if (this.routes.has(method.path)) throw new Error(`A handler for ${method.path} is already registered`);
    this.services.add(method.service);
    this.routes.set(method.path, { method, handler });
    if (this.state === ServerState.Listening) this.health.registerServices([method.service]);
  }

  /**
   * Maps errors of a domain class (and its subclasses) thrown by handlers to the GrpcError the
   * client receives; unmapped non-GrpcErrors become UNKNOWN with a generic message.
   */
  registerErrorHandler<E>(errorClass: abstract new (...args: any[]) => E, handler: ErrorHandler<E>): void {
    this.errors.register(errorClass, handler);
  }

  /**
   * Binds `host:port` (port 0 picks a free one; `[::1]:0` for IPv6), or a unix socket
   * (`unix:path`, `unix:///absolute/path`, `unix-abstract:name`), and resolves with the bound
   * port (0 for a unix socket). Only one address per server.
   */
  async listen(address: string): Promise<number> {
    if (this.state !== ServerState.Idle) throw new Error('GrpcServer.listen may be called once, before shutdown');
    const bind = parseListenTarget(address);
    const server = this.createHttp2Server();
    this.http2Server = server;
    this.state = ServerState.Listening;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(bind, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', () => undefined);
    this.health.registerServices(['', ...this.services]);
    const bound = server.address();
    return typeof bound === 'object' && bound !== null ? bound.port : 0;
  }

  /** The bound port, once listening. */
  get port(): number | undefined {
    const address = this.http2Server?.address();
    return typeof address === 'object' && address !== null ? address.port : undefined;
  }

  private createHttp2Server(): http2.Http2Server | http2.Http2SecureServer {
    const limits = http2Limits(this.limits);
    const credentials = this.options.credentials;
    const handshakeTimeout = Number.isFinite(this.limits.handshakeTimeoutMs) ? this.limits.handshakeTimeoutMs : undefined;
    const server = credentials
      ? http2.createSecureServer({
          ...limits,
          handshakeTimeout,
          cert: credentials.cert,
          key: credentials.key,
          ca: credentials.ca,
          requestCert: credentials.ca !== undefined || credentials.requireClientCert === true,
          rejectUnauthorized: credentials.requireClientCert === true,
          allowHTTP1: false,
        })
      : http2.createServer(limits);
    server.on('session', (session: http2.ServerHttp2Session) => {
      this.sessions.add(session);
      session.on('error', () => undefined);
      this.connections.set(session, new ServerConnection(session, this.limits, () => this.state === ServerState.Listening));
      session.on('close', () => this.sessions.delete(session));
      if (this.state !== ServerState.Listening) session.close();
    });
    server.on('stream', (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, _flags: number, rawHeaders: string[]) =>
      this.onStream(stream, headers, rawHeaders),
    );
    return server;
  }

  private onStream(stream: http2.ServerHttp2Stream, headers: ReceivedHeaders, rawHeaders: string[]): void {
    stream.on('error', ignore);
    const session = stream.session;
    const connection = session === undefined ? undefined : this.connections.get(session);
    if (session === undefined || connection === undefined) return void stream.destroy();
    if (!connection.admit(stream)) return;
    const verdict = checkRequestHeaders(headers);
    if (verdict.kind === 'http-error') {
      this.refuse(stream, httpErrorHeaders(verdict.httpStatus, verdict.message));
      return;
    }
    if (verdict.kind === 'grpc-error') return this.refuseWith(stream, verdict.error);
    const route = this.routes.get(verdict.path);
    if (route === undefined) {
      const message = this.services.has(verdict.service)
        ? `Method not found: ${verdict.service}/${verdict.method}`
        : `Service not found: ${verdict.service}`;
      return this.refuseWith(stream, new GrpcError(Status.UNIMPLEMENTED, message));
    }
    if (this.state !== ServerState.Listening) {
      return this.refuseWith(stream, new GrpcError(Status.UNAVAILABLE, 'The server is shutting down'));
    }
    const timeoutHeader = headers['grpc-timeout'];
    let deadlineAt: number | undefined;
    if (timeoutHeader !== undefined) {
      const timeout = parseTimeout(String(timeoutHeader));
      if (timeout === undefined) {
        return this.refuseWith(stream, new GrpcError(Status.INTERNAL, `Invalid grpc-timeout header ${JSON.stringify(timeoutHeader)}`));
      }
      deadlineAt = Date.now() + timeout;
    }
    let requestEncoding: Encoding;
    try {
      requestEncoding = parseEncodingHeader(headers['grpc-encoding'] as string | undefined);
    } catch (error) {
      return this.refuseWith(stream, error as GrpcError);
    }
    const { peer, certificate } = peerIdentity(session);
    const call = new ServerCall(
      {
        stream,
        method: route.method,
        handler: route.handler,
        rawHeaders,
        requestEncoding,
        acceptedEncodings: acceptedEncodings(headers['grpc-accept-encoding'] as string | undefined),
        deadlineAt,
        peer,
        peerCertificate: certificate,
        connection,
      },
      this.settings,
      this.onCallClosed,
    );
    this.calls.add(call);
    call.start();
  }

  private refuseWith(stream: http2.ServerHttp2Stream, error: GrpcError): void {
    this.refuse(stream, trailersOnly({ code: error.code, message: error.message, details: error.details, metadata: error.metadata }));
  }

  /** Answers with one header block ending the stream, and asks a client still sending to stop. */
  private refuse(stream: http2.ServerHttp2Stream, block: http2.OutgoingHttpHeaders): void {
    if (stream.destroyed) return;
    stream.respond(block, { endStream: true });
    if (!stream.readableEnded) stream.close(http2.constants.NGHTTP2_NO_ERROR);
  }

  private readonly onCallClosed = (call: ServerCall): void => {
    this.calls.delete(call);
  };

  /**
   * Turns every health status NOT_SERVING at once and goes on serving for `delayMs`; then stops
   * accepting connections and calls (GOAWAY on every connection; calls arriving later fail
   * UNAVAILABLE), lets in-flight calls finish for up to `graceMs`, then cancels the rest and
   * closes every connection. Resolves when the server is closed. Idempotent; `forceShutdown`
   * ends the delay too.
   */
  shutdown(options: ShutdownOptions = {}): Promise<void> {
    if (this.stopped !== undefined) return this.stopped;
    this.health.enterShutdown();
    this.stopped = this.delay(options.delayMs ?? this.options.shutdownDelayMs ?? 0).then(() => this.drain(options.graceMs ?? 10_000));
    return this.stopped;
  }

  /** Waits `delayMs` (clamped to Node's longest timer), or until forceShutdown. */
  private delay(delayMs: number): Promise<void> {
    if (!(delayMs > 0) || this.state !== ServerState.Listening) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, clampTimerDelay(delayMs));
      this.endDelay = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private async drain(graceMs: number): Promise<void> {
    if (this.state === ServerState.Stopped) return;
    const server = this.http2Server;
    if (server === undefined) {
      this.state = ServerState.Stopped;
      return;
    }
    this.state = ServerState.Draining;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // A closed session ends once its last stream has sent its trailers and closed; the server
    // closes when every session has. Destroying sessions as soon as the last handler returned
    // would cut the trailers still being written.
    for (const session of this.sessions) session.close();
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
    });
    await Promise.race([closed, graceOver]);
    clearTimeout(timer);
    this.forceShutdown();
    await closed;
  }

  /** Cancels every call (the handlers' signals abort; clients see UNAVAILABLE or CANCELLED) and closes every connection now. Idempotent. */
  forceShutdown(): void {
    if (this.state === ServerState.Stopped) return;
    this.state = ServerState.Stopped;
    this.health.enterShutdown();
    this.endDelay?.();
    const reason = new GrpcError(Status.UNAVAILABLE, 'The server was shut down');
    for (const call of [...this.calls]) call.cancel(reason);
    // CANCEL, not Node's default NO_ERROR: a stream whose response is not complete (its trailers
    // not yet written) must reach the client as cancelled, not as a response missing its status.
    for (const session of this.sessions) session.destroy(undefined, http2.constants.NGHTTP2_CANCEL);
    this.http2Server?.close();
    this.stopped ??= Promise.resolve();
  }
}
