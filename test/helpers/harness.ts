/**
 * Test harness for server integration tests: starts GrpcServers on port 0 with a given
 * implementation, makes @grpc/grpc-js clients and raw HTTP/2 sessions for them, and tears all
 * of it down after each test.
 */
import * as grpc from '@grpc/grpc-js';
import type http2 from 'node:http2';
import { GrpcServer, type GrpcServerOptions, type Stub } from '../../lib/index.js';
import { exampleStub } from './example-service.js';
import { exampleGrpcJsClient } from './grpc-js.js';
import { connectRaw } from './raw-http2.js';

/** A grpc-js client of nameko.example, with its generated methods. */
export type ExampleClient = grpc.Client & Record<string, any>;

/** A promise with its settle functions, for handing events from handlers to tests. */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

/** A new Deferred. */
export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Resolves with the signal's reason once it aborts (at once if it already has). */
export function whenAborted(signal: AbortSignal): Promise<unknown> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve(signal.reason);
    else signal.addEventListener('abort', () => resolve(signal.reason), { once: true });
  });
}

/** Servers, clients and sessions made by a test, closed together. */
export class Harness {
  private readonly servers: GrpcServer[] = [];
  private readonly clients: grpc.Client[] = [];
  private readonly sessions: http2.ClientHttp2Session[] = [];

  /** Starts a server on 127.0.0.1:0 serving `implementation` for `stub` (default nameko.example). */
  async serve(implementation: object, options: GrpcServerOptions = {}, stub: Stub = exampleStub): Promise<{ server: GrpcServer; port: number }> {
    const server = new GrpcServer(options);
    server.addService(stub, implementation);
    this.servers.push(server);
    const port = await server.listen('127.0.0.1:0');
    return { server, port };
  }

  /** A grpc-js nameko.example client, on its own connection unless `shared` is set. */
  client(port: number, options: grpc.ClientOptions = {}, shared = false): ExampleClient {
    const client = exampleGrpcJsClient(port, shared ? options : { 'grpc.use_local_subchannel_pool': 1, ...options });
    this.clients.push(client);
    return client;
  }

  /** Tracks a client made elsewhere so it is closed with the rest. */
  track<C extends grpc.Client>(client: C): C {
    this.clients.push(client);
    return client;
  }

  /** A raw HTTP/2 session to the server. */
  async raw(port: number): Promise<http2.ClientHttp2Session> {
    const session = await connectRaw(port);
    this.sessions.push(session);
    return session;
  }

  /** Closes every client and session and force-stops every server. */
  close(): void {
    for (const client of this.clients.splice(0)) client.close();
    for (const session of this.sessions.splice(0)) session.destroy();
    for (const server of this.servers.splice(0)) server.forceShutdown();
  }
}

/** Asserts that an ordinary unary call still succeeds on the server (it stayed healthy). */
export async function expectHealthy(client: ExampleClient): Promise<void> {
  const reply = await new Promise((resolve, reject) =>
    client.unary_unary({ value: 'ok', multiplier: 2 }, (error: Error | null, value: unknown) => (error ? reject(error) : resolve(value))),
  );
  if ((reply as { message?: string }).message !== 'okok') throw new Error(`Unexpected reply ${JSON.stringify(reply)}`);
}
