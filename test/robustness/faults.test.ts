/**
 * Issue 9, item 12: faults. The client's TCP connection dropped mid-stream (FIN or RST): the
 * handler sees CANCELLED and its signal aborts. A server process killed with SIGKILL
 * mid-stream: the client fails UNAVAILABLE. Cancellation, deadlines and dropped connections at
 * any moment of a stream: the server never writes to a destroyed stream. (Graceful shutdown is
 * server-shutdown.test.ts; a server shut down mid-stream, client-connections.test.ts.)
 */
import { spawn } from 'node:child_process';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Observable } from 'rxjs';
import { GrpcClient, type GrpcContext, GrpcError, type MessageStream, Status } from '../../lib/index.js';
import type { ExampleRequest } from '../helpers/example-service.js';
import { typedExampleStub as exampleStub } from '../helpers/typed-example.js';
import { collect } from '../helpers/grpc-js.js';
import { dataFrame, FrameType, grpcRequestBlock, headersFrame, RawPeer } from '../helpers/h2-frames.js';
import { deferred, Harness } from '../helpers/harness.js';
import { exampleRequestFrame as request } from '../helpers/raw-http2.js';


const codeOf = (reason: unknown) => (reason instanceof GrpcError ? reason.code : reason);

describe("the client's TCP connection dropped mid-stream", () => {
  const harness = new Harness();
  afterEach(() => harness.close());

  /** Handlers that stream until stopped and report how they ended: the signal's reason, and what iteration threw. */
  function streaming() {
    const ended = deferred<{ signal: unknown; iteration?: unknown }>();
    return {
      ended,
      implementation: {
        async *unary_stream(_request: ExampleRequest, ctx: GrpcContext) {
          try {
            for (let seqno = 0; ; seqno++) {
              yield { message: 'tick', seqno };
              await new Promise((resolve) => setImmediate(resolve));
            }
          } finally {
            ended.resolve({ signal: ctx.signal.reason });
          }
        },
        async *stream_stream(requests: MessageStream<ExampleRequest>, ctx: GrpcContext) {
          let iteration: unknown;
          try {
            for await (const req of requests) yield { message: req.value, seqno: 0 };
          } catch (error) {
            iteration = error;
          } finally {
            ended.resolve({ signal: ctx.signal.reason, iteration });
          }
        },
      },
    };
  }

  it.each([
    ['closed (FIN)', (peer: RawPeer) => peer.socket.destroy()],
    ['reset (RST)', (peer: RawPeer) => peer.socket.resetAndDestroy()],
  ])('%s during a server stream: the handler signal aborts CANCELLED and the generator stops', async (_name, drop) => {
    const { ended, implementation } = streaming();
    const { port } = await harness.serve(implementation);
    const peer = await RawPeer.connect(port);
    await peer.send(headersFrame(1, grpcRequestBlock('/nameko.example/unary_stream')), dataFrame(1, request('a'), true));
    await peer.waitFor(() => peer.received(FrameType.DATA).length >= 3, 'some messages');
    drop(peer);
    const { signal } = await ended.promise;
    expect(signal).toBeInstanceOf(GrpcError);
    expect(codeOf(signal)).toBe(Status.CANCELLED);
  });

  it.each([
    ['closed (FIN)', (peer: RawPeer) => peer.socket.destroy()],
    ['reset (RST)', (peer: RawPeer) => peer.socket.resetAndDestroy()],
  ])('%s during a bidi stream: iterating the requests throws CANCELLED, the signal aborts', async (_name, drop) => {
    const { ended, implementation } = streaming();
    const { port } = await harness.serve(implementation);
    const peer = await RawPeer.connect(port);
    await peer.send(headersFrame(1, grpcRequestBlock('/nameko.example/stream_stream')), dataFrame(1, request('a')));
    await peer.waitFor(() => peer.received(FrameType.DATA).length >= 1, 'the echo of the first request');
    drop(peer);
    const { signal, iteration } = await ended.promise;
    expect(codeOf(signal)).toBe(Status.CANCELLED);
    expect(codeOf(iteration)).toBe(Status.CANCELLED);
  });
});

/** A server in another process, on plain node:http2: streams an ExampleReply every 10 ms to each call. Prints its port. */
const TICKING_SERVER = `
const http2 = require('node:http2');
const reply = (seqno) => {
  const message = Buffer.from('tick');
  const body = Buffer.concat([Buffer.from([0x0a, message.length]), message, Buffer.from([0x10, seqno & 0x7f])]);
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(body.length, 1);
  return Buffer.concat([prefix, body]);
};
const server = http2.createServer();
server.on('stream', (stream) => {
  stream.on('error', () => {});
  stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
  let seqno = 0;
  const timer = setInterval(() => stream.write(reply(++seqno)), 10);
  stream.on('close', () => clearInterval(timer));
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;

describe('the server process killed mid-stream', () => {
  it('SIGKILL (no GOAWAY, the kernel closes the socket): the client fails UNAVAILABLE after the replies so far', async () => {
    const child = spawn(process.execPath, ['-e', TICKING_SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const port = await new Promise<number>((resolve, reject) => {
        child.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
        child.once('exit', (code) => reject(new Error(`The server process exited (${code})`)));
      });
      const client = new GrpcClient(`127.0.0.1:${port}`, exampleStub);
      try {
        const received: number[] = [];
        const outcome = new Promise<unknown>((resolve) =>
          client.unary_stream({ value: 'a', multiplier: 1 }).subscribe({
            next: (reply) => {
              received.push(reply.seqno);
              if (received.length === 3) child.kill('SIGKILL');
            },
            error: resolve,
            complete: () => resolve('completed'),
          }),
        );
        const error = await outcome;
        expect(error).toBeInstanceOf(GrpcError);
        expect((error as GrpcError).code).toBe(Status.UNAVAILABLE);
        expect(received.slice(0, 3)).toEqual([1, 2, 3]);
      } finally {
        client.close();
      }
    } finally {
      child.kill('SIGKILL');
    }
  });
});

/** The prototype of node:http2's server streams, found on a stream of a throwaway server. */
async function serverStreamPrototype(): Promise<Record<string, unknown>> {
  const server = http2.createServer();
  const found = new Promise<Record<string, unknown>>((resolve) =>
    server.once('stream', (stream) => {
      resolve(Object.getPrototypeOf(stream) as Record<string, unknown>);
      stream.respond({ ':status': 200 }, { endStream: true });
    }),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const session = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  session.request({ ':path': '/' }).end();
  const prototype = await found;
  session.destroy();
  server.close();
  return prototype;
}

describe('cancellation at any moment of a stream', () => {
  const harness = new Harness();
  afterEach(() => harness.close());

  it('never makes the server write to a destroyed stream (300 streams cancelled, timed out or dropped mid-way, compressed and not)', async () => {
    // Every write-side call our code makes on a stream that is already destroyed is recorded.
    const prototype = await serverStreamPrototype();
    const methods = ['write', 'end', 'respond', 'sendTrailers', 'additionalHeaders'];
    const originals = new Map(methods.map((name) => [name, Object.getOwnPropertyDescriptor(prototype, name)]));
    const violations: string[] = [];
    const ourCode = `${path.sep}lib${path.sep}`;
    for (const name of methods) {
      const original = prototype[name] as (...args: unknown[]) => unknown;
      prototype[name] = function (this: http2.ServerHttp2Stream, ...args: unknown[]) {
        if (this.destroyed) {
          const caller = new Error().stack?.split('\n')[2] ?? '';
          if (caller.includes(ourCode)) violations.push(`${name} from ${caller.trim()}`);
        }
        return original.apply(this, args);
      };
    }
    try {
      let running = 0;
      const track = (_ctx: GrpcContext) => {
        running++;
        return () => void running--;
      };
      const implementation = {
        unary_stream: (req: ExampleRequest, ctx: GrpcContext) => {
          const done = track(ctx);
          if (req.value === 'observable') {
            return new Observable((subscriber) => {
              const timer = setInterval(() => subscriber.next({ message: 'o'.repeat(2000), seqno: 1 }), 1);
              return () => {
                clearInterval(timer);
                done();
              };
            });
          }
          return (async function* () {
            try {
              for (;;) {
                yield { message: 'g'.repeat(2000), seqno: 2 };
                await new Promise((resolve) => setImmediate(resolve));
              }
            } finally {
              done();
            }
          })();
        },
        async *stream_stream(requests: MessageStream<ExampleRequest>, ctx: GrpcContext) {
          const done = track(ctx);
          try {
            for await (const req of requests) yield { message: req.value.repeat(500), seqno: 3 };
          } finally {
            done();
          }
        },
      };
      const plain = await harness.serve(implementation);
      const gzip = await harness.serve(implementation, { compression: 'gzip' });
      const calls: Array<Promise<unknown>> = [];
      for (let i = 0; i < 300; i++) {
        const port = i % 2 === 0 ? plain.port : gzip.port;
        const client = harness.client(port, {}, true);
        const afterMessages = i % 7;
        switch (i % 3) {
          case 0: {
            // Cancelled by the client after a few messages.
            const call = client.unary_stream({ value: i % 6 === 0 ? 'observable' : 'generator' });
            let seen = 0;
            call.on('data', () => {
              if (seen++ === afterMessages) call.cancel();
            });
            calls.push(collect(call));
            break;
          }
          case 1: {
            // Past its deadline mid-stream.
            const call = client.unary_stream({ value: i % 5 === 0 ? 'observable' : 'generator' }, { deadline: Date.now() + 1 + (i % 20) });
            calls.push(collect(call));
            break;
          }
          default: {
            // A bidi call cancelled while both sides are sending.
            const call = client.stream_stream();
            let seen = 0;
            call.on('data', () => {
              if (seen++ === afterMessages) call.cancel();
              else call.write({ value: `r${seen}` });
            });
            call.write({ value: 'r0' });
            calls.push(collect(call));
          }
        }
      }
      // And connections dropped with streams in flight.
      for (let i = 0; i < 10; i++) {
        const peer = await RawPeer.connect(i % 2 === 0 ? plain.port : gzip.port);
        await peer.send(headersFrame(1, grpcRequestBlock('/nameko.example/unary_stream', [['grpc-accept-encoding', 'gzip']])), dataFrame(1, request('observable'), true));
        await peer.waitFor(() => peer.received(FrameType.DATA).length >= i, 'some messages');
        if (i % 2 === 0) peer.socket.resetAndDestroy();
        else peer.destroy();
      }
      const outcomes = await Promise.all(calls);
      expect(outcomes).toHaveLength(300);
      // Handlers finish a moment after their calls: wait for the last one.
      while (running > 0) await new Promise((resolve) => setTimeout(resolve, 5));
      expect(violations).toEqual([]);
    } finally {
      for (const [name, descriptor] of originals) {
        if (descriptor === undefined) delete prototype[name];
        else Object.defineProperty(prototype, name, descriptor);
      }
    }
  });
});

describe('a malformed error from untyped handler code', () => {
  const harness = new Harness();
  afterEach(() => harness.close());

  it.each([
    ['plain-object metadata', () => new GrpcError(Status.NOT_FOUND, 'gone', [], { 'x-why': 'untyped' } as never)],
    ['details that are not messages', () => new GrpcError(Status.NOT_FOUND, 'gone', [42 as never])],
  ])('a GrpcError with %s ends the call UNKNOWN with the generic message; the server keeps serving', async (_name, makeError) => {
    const { port } = await harness.serve({
      unary_unary() {
        throw makeError();
      },
      async *unary_stream() {
        yield { message: 'first', seqno: 1 };
        throw makeError();
      },
    });
    const client = new GrpcClient(`127.0.0.1:${port}`, exampleStub);
    try {
      const unary = await client.unary_unary({ value: 'a', multiplier: 1 }).catch((e: unknown) => e);
      expect(unary).toMatchObject({ code: Status.UNKNOWN, message: 'Unexpected error in the method handler' });
      const streamed = await new Promise<unknown>((resolve) => client.unary_stream({ value: 'a', multiplier: 1 }).subscribe({ error: resolve, complete: () => resolve('completed') }));
      expect(streamed).toMatchObject({ code: Status.UNKNOWN });
    } finally {
      client.close();
    }
  });
});
