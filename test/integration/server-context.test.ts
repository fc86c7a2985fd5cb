import * as grpc from '@grpc/grpc-js';
import { Observable } from 'rxjs';
import { GrpcContext, GrpcError, Metadata, Status } from '../../lib/index.js';
import { type ExampleRequest } from '../helpers/example-service.js';
import { collect, grpcJsUnary } from '../helpers/grpc-js.js';
import { deferred, Harness, whenAborted } from '../helpers/harness.js';
import { grpcHeaders, inflateMessage, parseMessages, rawCall, frame, rawValues } from '../helpers/raw-http2.js';
import protobuf from 'protobufjs';
import path from 'node:path';

const root = protobuf.loadSync(path.resolve('protos/example.proto'));
const ExampleRequestType = root.lookupType('nameko.ExampleRequest');
const ExampleReplyType = root.lookupType('nameko.ExampleReply');

function encodeRequest(request: Partial<ExampleRequest>): Uint8Array {
  return ExampleRequestType.encode(ExampleRequestType.fromObject(request)).finish();
}

describe('GrpcContext, as a handler sees it with a @grpc/grpc-js client', () => {
  const harness = new Harness();
  afterEach(() => harness.close());

  it('carries the request metadata exactly as grpc-js sent it: repeated keys, commas, -bin values', async () => {
    const seen = deferred<Metadata>();
    const { port } = await harness.serve({
      unary_unary(_request: ExampleRequest, ctx: GrpcContext) {
        seen.resolve(ctx.metadata);
        return { message: 'ok', seqno: 0 };
      },
    });
    const client = harness.client(port);
    const metadata = new grpc.Metadata();
    metadata.add('x-single', 'one');
    metadata.add('x-repeated', 'first');
    metadata.add('x-repeated', 'second, with comma');
    metadata.add('x-empty', '');
    metadata.add('x-raw-bin', Buffer.from([0, 1, 2, 0xfe, 0xff]));
    metadata.add('x-raw-bin', Buffer.from('second value'));
    metadata.add('x-lone-bin', Buffer.from([0xfb]));
    await grpcJsUnary(client, 'unary_unary', { value: 'a' }, metadata);

    const received = await seen.promise;
    expect(received.get('x-single')).toEqual(['one']);
    expect(received.get('x-repeated')).toEqual(['first', 'second, with comma']);
    expect(received.get('x-empty')).toEqual(['']);
    expect(received.get('x-raw-bin')).toEqual([Buffer.from([0, 1, 2, 0xfe, 0xff]), Buffer.from('second value')]);
    expect(received.get('x-lone-bin')).toEqual([Buffer.from([0xfb])]);
    // Protocol headers are not user metadata.
    for (const key of received.keys()) expect(key).not.toMatch(/^(:|grpc-|te$|content-type$)/);
  });

  it('names the peer as host:port of the client connection and knows the path', async () => {
    const seen = deferred<{ peer: string; path: string }>();
    const { port } = await harness.serve({
      unary_unary(_request: ExampleRequest, ctx: GrpcContext) {
        seen.resolve({ peer: ctx.peer, path: ctx.path });
        return {};
      },
    });
    await grpcJsUnary(harness.client(port), 'unary_unary', { value: 'a' });
    const { peer, path: callPath } = await seen.promise;
    const match = /^127\.0\.0\.1:(\d+)$/.exec(peer);
    expect(match).not.toBeNull();
    const peerPort = Number(match![1]);
    expect(peerPort).toBeGreaterThan(0);
    expect(peerPort).not.toBe(port);
    expect(callPath).toBe('/nameko.example/unary_unary');
  });

  it('exposes the deadline grpc-js sent, and none when it sent none', async () => {
    const seen: Array<{ deadline: Date | undefined; remaining: number }> = [];
    const { port } = await harness.serve({
      unary_unary(_request: ExampleRequest, ctx: GrpcContext) {
        seen.push({ deadline: ctx.deadline, remaining: ctx.timeRemaining });
        return {};
      },
    });
    const client = harness.client(port);
    const deadline = Date.now() + 5000;
    await grpcJsUnary(client, 'unary_unary', { value: 'a' }, new grpc.Metadata(), { deadline });
    await grpcJsUnary(client, 'unary_unary', { value: 'a' });

    expect(seen[0].deadline).toBeInstanceOf(Date);
    // grpc-js sends the remaining time; the server's deadline lands within a little of the client's.
    expect(Math.abs(seen[0].deadline!.getTime() - deadline)).toBeLessThan(1000);
    expect(seen[0].remaining).toBeGreaterThan(3000);
    expect(seen[0].remaining).toBeLessThanOrEqual(5100);
    expect(seen[1].deadline).toBeUndefined();
    expect(seen[1].remaining).toBe(Infinity);
  });

  it.each([
    ['unary_unary', 'unary'],
    ['unary_stream', 'server-streaming'],
    ['stream_unary', 'client-streaming'],
    ['stream_stream', 'bidi'],
  ])('aborts the signal of a %s (%s) handler when the grpc-js client cancels', async (method) => {
    const started = deferred<GrpcContext>();
    const hang = (ctx: GrpcContext) => {
      started.resolve(ctx);
      return new Promise<never>(() => undefined);
    };
    const { port } = await harness.serve({
      unary_unary: (_r: unknown, ctx: GrpcContext) => hang(ctx),
      unary_stream: (_r: unknown, ctx: GrpcContext) => new Observable(() => void started.resolve(ctx)),
      stream_unary: (_r: unknown, ctx: GrpcContext) => hang(ctx),
      stream_stream: (_r: unknown, ctx: GrpcContext) => new Observable(() => void started.resolve(ctx)),
    });
    const client = harness.client(port);
    const call =
      method === 'unary_unary' || method === 'unary_stream'
        ? client[method]({ value: 'a' }, () => undefined)
        : client[method](() => undefined);
    call.on('error', () => undefined);
    if (method.startsWith('stream_')) call.write({ value: 'a' });

    const ctx = await started.promise;
    expect(ctx.cancelled).toBe(false);
    call.cancel();
    const reason = await whenAborted(ctx.signal);
    expect(ctx.cancelled).toBe(true);
    expect(reason).toBeInstanceOf(GrpcError);
    expect((reason as GrpcError).code).toBe(Status.CANCELLED);
  });

  it('releases an Observable and stops an async generator of a cancelled streaming call', async () => {
    const torn = deferred();
    const finished = deferred();
    const started = deferred();
    const { port } = await harness.serve({
      unary_stream: () =>
        new Observable((subscriber) => {
          subscriber.next({ message: 'first' });
          return () => torn.resolve();
        }),
      async *stream_stream(requests: AsyncIterable<ExampleRequest>) {
        try {
          for await (const request of requests) {
            started.resolve();
            yield { message: request.value };
          }
        } finally {
          finished.resolve();
        }
      },
    });
    const client = harness.client(port);
    const serverStream = client.unary_stream({ value: 'a' });
    serverStream.on('error', () => undefined);
    await new Promise((resolve) => serverStream.once('data', resolve));
    serverStream.cancel();
    await torn.promise;

    const bidi = client.stream_stream();
    bidi.on('error', () => undefined);
    bidi.write({ value: 'x' });
    await started.promise;
    bidi.cancel();
    await finished.promise;
  });

  it('sends initial metadata at once with sendInitialMetadata, before any message', async () => {
    const headersSeen = deferred();
    const { port } = await harness.serve({
      unary_stream: (_request: ExampleRequest, ctx: GrpcContext) =>
        new Observable((subscriber) => {
          ctx.sendInitialMetadata(new Metadata({ 'x-initial': ['a', 'b'], 'x-initial-bin': Buffer.from([1, 2, 3]) }));
          expect(() => ctx.sendInitialMetadata(new Metadata())).toThrow(/already sent/);
          // The reply only goes out once the client has the headers, so they cannot be waiting for it.
          void headersSeen.promise.then(() => {
            subscriber.next({ message: 'after headers' });
            subscriber.complete();
          });
        }),
    });
    const call = harness.client(port).unary_stream({ value: 'a' });
    let headers: grpc.Metadata | undefined;
    call.on('metadata', (md: grpc.Metadata) => {
      headers = md;
      headersSeen.resolve();
    });
    const { messages, status } = await collect(call);
    expect(status.code).toBe(grpc.status.OK);
    expect(messages.map((m) => m.message)).toEqual(['after headers']);
    // Node joins repeated header fields for grpc-js; the raw test below checks they are separate on the wire.
    expect(headers!.get('x-initial')).toEqual(['a, b']);
    expect(headers!.get('x-initial-bin')).toEqual([Buffer.from([1, 2, 3])]);
  });

  it('puts initial and trailing metadata on the wire as separate repeated fields', async () => {
    const { port } = await harness.serve({
      unary_unary(_request: ExampleRequest, ctx: GrpcContext) {
        ctx.sendInitialMetadata(new Metadata([
          ['x-initial', 'a'],
          ['x-initial', 'b'],
        ]));
        ctx.setTrailingMetadata(new Metadata([
          ['x-trailing', 'c'],
          ['x-trailing', 'd'],
          ['x-trailing-bin', Buffer.from([0xff])],
        ]));
        return { message: 'ok' };
      },
    });
    const session = await harness.raw(port);
    const response = await rawCall(session, grpcHeaders('/nameko.example/unary_unary'), frame(encodeRequest({ value: 'a' })));
    expect(rawValues(response.rawHeaders, 'x-initial')).toEqual(['a', 'b']);
    expect(rawValues(response.rawTrailers, 'x-trailing')).toEqual(['c', 'd']);
    expect(rawValues(response.rawTrailers, 'x-trailing-bin').map((v) => Buffer.from(v, 'base64'))).toEqual([Buffer.from([0xff])]);
    expect(response.trailers?.['grpc-status']).toBe('0');
  });

  it('sends trailing metadata set with setTrailingMetadata, and with trailingMetadata.add, to grpc-js', async () => {
    const { port } = await harness.serve({
      unary_unary(_request: ExampleRequest, ctx: GrpcContext) {
        ctx.setTrailingMetadata(new Metadata({ 'x-trailer': 'value', 'x-trailer-bin': [Buffer.from([9]), Buffer.from([8, 7])] }));
        ctx.trailingMetadata.add('x-added', 'later');
        return { message: 'ok' };
      },
    });
    const { status } = await grpcJsUnary(harness.client(port), 'unary_unary', { value: 'a' });
    expect(status.code).toBe(grpc.status.OK);
    expect(status.metadata.get('x-trailer')).toEqual(['value']);
    expect(status.metadata.get('x-trailer-bin')).toEqual([Buffer.from([9]), Buffer.from([8, 7])]);
    expect(status.metadata.get('x-added')).toEqual(['later']);
  });

  it('ends a call with setCode/setMessage without throwing, keeping trailing metadata', async () => {
    const { port } = await harness.serve({
      unary_unary(_request: ExampleRequest, ctx: GrpcContext) {
        ctx.setCode(Status.NOT_FOUND);
        ctx.setMessage('no such thing: café');
        ctx.trailingMetadata.add('x-why', 'missing');
        return { message: 'ignored by the client' };
      },
      unary_stream(_request: ExampleRequest, ctx: GrpcContext) {
        ctx.setCode(Status.FAILED_PRECONDITION);
        ctx.setMessage('stopped early');
        return [{ message: 'one' }];
      },
    });
    const client = harness.client(port);
    const error = await grpcJsUnary(client, 'unary_unary', { value: 'a' }).then(
      () => undefined,
      (e: grpc.ServiceError) => e,
    );
    expect(error?.code).toBe(grpc.status.NOT_FOUND);
    expect(error?.details).toBe('no such thing: café');
    expect(error?.metadata.get('x-why')).toEqual(['missing']);

    const { messages, status } = await collect(client.unary_stream({ value: 'a' }));
    expect(messages.map((m) => m.message)).toEqual(['one']);
    expect(status.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(status.details).toBe('stopped early');
  });

  it('compresses responses with ctx.setCompression, which grpc-js decodes', async () => {
    const big = 'z'.repeat(10_000);
    const { port } = await harness.serve({
      unary_unary(_request: ExampleRequest, ctx: GrpcContext) {
        ctx.setCompression('gzip');
        return { message: big };
      },
    });
    const { response } = await grpcJsUnary(harness.client(port), 'unary_unary', { value: 'a' });
    expect(response.message).toBe(big);

    const session = await harness.raw(port);
    const raw = await rawCall(
      session,
      grpcHeaders('/nameko.example/unary_unary', { 'grpc-accept-encoding': 'identity,gzip' }),
      frame(encodeRequest({ value: 'a' })),
    );
    expect(raw.headers['grpc-encoding']).toBe('gzip');
    const [message] = parseMessages(raw.data);
    expect(message.compressed).toBe(true);
    expect(message.payload.length).toBeLessThan(1000);
    expect(ExampleReplyType.toObject(ExampleReplyType.decode(inflateMessage(message, 'gzip'))).message).toBe(big);
  });

  it('sends chosen messages uncompressed with setMessageCompression(false) on a compressed call', async () => {
    const { port } = await harness.serve({
      *unary_stream(_request: ExampleRequest, ctx: GrpcContext) {
        ctx.setCompression('deflate');
        yield { message: 'x'.repeat(2000), seqno: 1 };
        ctx.setMessageCompression(false);
        yield { message: 'y'.repeat(2000), seqno: 2 };
        ctx.setMessageCompression(true);
        yield { message: 'z'.repeat(2000), seqno: 3 };
      },
    });
    const session = await harness.raw(port);
    const raw = await rawCall(
      session,
      grpcHeaders('/nameko.example/unary_stream', { 'grpc-accept-encoding': 'identity,deflate,gzip' }),
      frame(encodeRequest({ value: 'a' })),
    );
    expect(raw.headers['grpc-encoding']).toBe('deflate');
    const messages = parseMessages(raw.data);
    expect(messages.map((m) => m.compressed)).toEqual([true, false, true]);
    expect(messages.map((m) => (ExampleReplyType.decode(inflateMessage(m, 'deflate')) as unknown as { seqno: number }).seqno)).toEqual([1, 2, 3]);

    const { messages: decoded, status } = await collect(harness.client(port).unary_stream({ value: 'a' }));
    expect(status.code).toBe(grpc.status.OK);
    expect(decoded.map((m) => m.message[0])).toEqual(['x', 'y', 'z']);
  });

  it('refuses setCompression once the response headers are out', async () => {
    const outcome = deferred<unknown>();
    const { port } = await harness.serve({
      unary_unary(_request: ExampleRequest, ctx: GrpcContext) {
        ctx.sendInitialMetadata(new Metadata());
        try {
          ctx.setCompression('gzip');
          outcome.resolve(undefined);
        } catch (error) {
          outcome.resolve(error);
        }
        return { message: 'ok' };
      },
    });
    const { response } = await grpcJsUnary(harness.client(port), 'unary_unary', { value: 'a' });
    expect(response.message).toBe('ok');
    expect(await outcome.promise).toBeInstanceOf(Error);
  });
});
