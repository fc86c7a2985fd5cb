import { lastValueFrom, toArray } from 'rxjs';
import { GrpcClient, type GrpcContext, GrpcServer, type MessageStream, wasCompressed, withoutCompression } from '../../lib/index.js';
import { type ExampleReply, type ExampleRequest, exampleStub } from '../helpers/example-service.js';
import { startGrpcJsServer } from '../helpers/grpc-js.js';

/** Per-message compression seen from user code, and compressed unary requests from our client. */
describe('per-message compression', () => {
  let server: GrpcServer;
  let client: GrpcClient<typeof exampleStub>;
  const seen: boolean[] = [];

  beforeAll(async () => {
    server = new GrpcServer();
    server.addService(exampleStub, {
      unary_unary: (request: ExampleRequest): ExampleReply => ({ message: String(wasCompressed(request)), seqno: 0 }),
      async stream_unary(requests: MessageStream<ExampleRequest>): Promise<ExampleReply> {
        for await (const request of requests) seen.push(wasCompressed(request));
        return { message: 'done', seqno: 0 };
      },
      async *unary_stream(request: ExampleRequest, ctx: GrpcContext): AsyncIterable<ExampleReply> {
        if (request.multiplier === 0) return;
        ctx.setCompression('gzip');
        yield { message: 'a', seqno: 1 };
        yield withoutCompression({ message: 'b', seqno: 2 });
        yield { message: 'c', seqno: 3 };
      },
    });
    client = new GrpcClient(`127.0.0.1:${await server.listen('127.0.0.1:0')}`, exampleStub);
  });

  afterAll(async () => {
    client.close();
    await server.shutdown();
  });

  it.each(['gzip', 'deflate'] as const)('sends a %s unary request, compressed, before ending the stream', async (compression) => {
    await expect(client.unary_unary({ value: 'x'.repeat(2000), multiplier: 1 }, { compression })).resolves.toEqual({ message: 'true', seqno: 0 });
    await expect(client.unary_unary({ value: 'x', multiplier: 1 })).resolves.toEqual({ message: 'false', seqno: 0 });
  });

  it('tells the server which request messages arrived compressed, and sends messages marked withoutCompression uncompressed', async () => {
    seen.length = 0;
    const requests = [{ value: 'a' }, withoutCompression({ value: 'b' }), { value: 'c' }];
    await expect(client.stream_unary(requests, { compression: 'gzip' })).resolves.toEqual({ message: 'done', seqno: 0 });
    expect(seen).toEqual([true, false, true]);
  });

  it('tells the client which responses arrived compressed', async () => {
    const replies: ExampleReply[] = await lastValueFrom(client.unary_stream({ value: 'x', multiplier: 1 }).pipe(toArray()));
    expect(replies.map((reply) => reply.message)).toEqual(['a', 'b', 'c']);
    expect(replies.map((reply) => wasCompressed(reply))).toEqual([true, false, true]);
  });

  it('ends an empty response stream (a trailers-only OK response) with OK', async () => {
    const call = client.call.unary_stream({ value: 'x', multiplier: 0 }, { timeout: 10_000 });
    await expect(lastValueFrom(call.responses.pipe(toArray()))).resolves.toEqual([]);
    await expect(call.status).resolves.toMatchObject({ code: 0 });
  });

  it('reports false for objects it did not decode, and for primitives', () => {
    expect(wasCompressed({ value: 'a' })).toBe(false);
    expect(wasCompressed('text')).toBe(false);
    expect(wasCompressed(null)).toBe(false);
    expect(withoutCompression('text')).toBe('text');
  });
});

describe('compressed unary requests to @grpc/grpc-js', () => {
  it.each(['gzip', 'deflate'] as const)('are decoded by a grpc-js server (%s)', async (compression) => {
    const { server, port } = await startGrpcJsServer();
    const client = new GrpcClient(`127.0.0.1:${port}`, exampleStub);
    try {
      await expect(client.unary_unary({ value: 'ab', multiplier: 300 }, { compression })).resolves.toEqual({ message: 'ab'.repeat(300), seqno: 0 });
    } finally {
      client.close();
      server.forceShutdown();
    }
  });
});
