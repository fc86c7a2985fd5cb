import * as grpc from '@grpc/grpc-js';
import path from 'node:path';
import protobuf from 'protobufjs';
import { defer, EMPTY, from, map, Observable, of, Subject, toArray } from 'rxjs';
import { GrpcContext, GrpcError, GrpcServer, type MessageStream, Status } from '../../lib/index.js';
import { type ExampleReply, type ExampleRequest, exampleImplementation, exampleStub } from '../helpers/example-service.js';
import { collect, exampleClientConstructor, exampleGrpcJsClient, grpcJsUnary } from '../helpers/grpc-js.js';
import { deferred, type ExampleClient, expectHealthy, Harness } from '../helpers/harness.js';
import { frame, grpcHeaders, grpcStatus, rawCall } from '../helpers/raw-http2.js';

const root = protobuf.loadSync(path.resolve('protos/example.proto'));
const ExampleRequestType = root.lookupType('nameko.ExampleRequest');
const encodeRequest = (value: string) => Buffer.from(ExampleRequestType.encode(ExampleRequestType.fromObject({ value })).finish());

function clientStream(client: ExampleClient, values: string[]): Promise<{ reply?: any; error?: grpc.ServiceError }> {
  return new Promise((resolve) => {
    const call = client.stream_unary((error: grpc.ServiceError | null, reply: unknown) => resolve(error ? { error } : { reply }));
    for (const value of values) call.write({ value });
    call.end();
  });
}

async function bidi(client: ExampleClient, values: string[]) {
  const call = client.stream_stream();
  const result = collect(call);
  for (const value of values) call.write({ value });
  call.end();
  return result;
}

describe('GrpcServer handler forms', () => {
  const harness = new Harness();
  afterEach(() => harness.close());

  it.each([
    ['a value', (r: ExampleRequest) => ({ message: r.value })],
    ['a Promise', async (r: ExampleRequest) => ({ message: r.value })],
    ['a single-value Observable', (r: ExampleRequest) => of({ message: r.value })],
    ['an asynchronous Observable (its last value)', (r: ExampleRequest) => defer(async () => ({ message: 'not this' })).pipe(map(() => ({ message: r.value })))],
  ])('unary: accepts %s', async (_name, handler) => {
    const { port } = await harness.serve({ unary_unary: handler });
    const { response } = await grpcJsUnary(harness.client(port), 'unary_unary', { value: 'v' });
    expect(response.message).toBe('v');
  });

  it('unary: an undefined return is an empty message; an empty Observable is INTERNAL', async () => {
    const { port } = await harness.serve({
      unary_unary: () => undefined,
      unary_stream: () => EMPTY,
      stream_unary: () => EMPTY,
    });
    const client = harness.client(port);
    expect((await grpcJsUnary(client, 'unary_unary', { value: 'v' })).response).toEqual({ message: '', seqno: 0 });
    expect((await collect(client.unary_stream({ value: 'v' }))).status.code).toBe(grpc.status.OK);
    expect((await clientStream(client, ['a'])).error?.code).toBe(grpc.status.INTERNAL);
  });

  it.each([
    ['an Observable', (r: ExampleRequest) => from([1, 2, 3].map((seqno) => ({ message: r.value, seqno })))],
    ['an async generator', async function* (r: ExampleRequest) {
      for (const seqno of [1, 2, 3]) yield { message: r.value, seqno };
    }],
    ['an Iterable', (r: ExampleRequest) => [1, 2, 3].map((seqno) => ({ message: r.value, seqno }))],
    ['a generator', function* (r: ExampleRequest) {
      for (const seqno of [1, 2, 3]) yield { message: r.value, seqno };
    }],
    ['a Promise of an Iterable', async (r: ExampleRequest) => [1, 2, 3].map((seqno) => ({ message: r.value, seqno }))],
  ])('server-streaming: accepts %s', async (_name, handler) => {
    const { port } = await harness.serve({ unary_stream: handler });
    const { messages, status } = await collect(harness.client(port).unary_stream({ value: 'v' }));
    expect(status.code).toBe(grpc.status.OK);
    expect(messages).toEqual([1, 2, 3].map((seqno) => ({ message: 'v', seqno })));
  });

  it('server-streaming: a return that is not a stream is INTERNAL', async () => {
    const { port } = await harness.serve({ unary_stream: () => 42 });
    expect((await collect(harness.client(port).unary_stream({ value: 'v' }))).status.code).toBe(grpc.status.INTERNAL);
  });

  it.each([
    ['a value after subscribing with rxjs operators', (reqs: MessageStream<ExampleRequest>) =>
      reqs.pipe(toArray(), map((all) => ({ message: all.map((r) => r.value).join('+') })))],
    ['a Promise after for await', async (reqs: MessageStream<ExampleRequest>) => {
      const values: string[] = [];
      for await (const r of reqs) values.push(r.value);
      return { message: values.join('+') };
    }],
    ['a Promise after subscribe()', (reqs: MessageStream<ExampleRequest>) =>
      new Promise<ExampleReply>((resolve, reject) => {
        const values: string[] = [];
        reqs.subscribe({ next: (r) => values.push(r.value), error: reject, complete: () => resolve({ message: values.join('+'), seqno: 0 }) });
      })],
  ])('client-streaming: accepts %s', async (_name, handler) => {
    const { port } = await harness.serve({ stream_unary: handler });
    expect((await clientStream(harness.client(port), ['a', 'b', 'c'])).reply?.message).toBe('a+b+c');
  });

  it('a handler that subscribes to the requests without an error callback survives cancellation and bad messages', async () => {
    // The Nest documentation's pattern: subscribe({ next, complete }) and answer through a Subject.
    const completed = deferred<boolean>();
    const started = deferred();
    const { port } = await harness.serve({
      ...exampleImplementation,
      stream_stream(reqs: MessageStream<ExampleRequest>, ctx: GrpcContext) {
        const replies = new Subject<ExampleReply>();
        reqs.subscribe({
          next: (r) => {
            started.resolve();
            replies.next({ message: r.value, seqno: 0 });
          },
          complete: () => {
            completed.resolve(ctx.cancelled);
            replies.complete();
          },
        });
        return replies.asObservable();
      },
    });
    const client = harness.client(port);
    const call = client.stream_stream();
    call.on('error', () => undefined);
    call.write({ value: 'a' });
    await started.promise;
    call.cancel();
    // The subscriber is completed (not errored, which rxjs would rethrow as an uncaught exception); the context says it was cancelled.
    expect(await completed.promise).toBe(true);

    const session = await harness.raw(port);
    const bad = await rawCall(session, grpcHeaders('/nameko.example/stream_stream'), [frame(encodeRequest('ok')), frame(Buffer.from([0x0a, 0x09, 0x41]))]);
    expect(grpcStatus(bad)).toBe(Status.INTERNAL);
    await expectHealthy(client);
  });

  it('iterating the requests of a cancelled call throws the reason', async () => {
    const thrown = deferred<unknown>();
    const started = deferred();
    const { port } = await harness.serve({
      async stream_unary(reqs: MessageStream<ExampleRequest>) {
        try {
          for await (const _ of reqs) started.resolve();
        } catch (error) {
          thrown.resolve(error);
        }
        return {};
      },
    });
    const call = harness.client(port).stream_unary(() => undefined);
    call.write({ value: 'a' });
    await started.promise;
    call.cancel();
    const error = await thrown.promise;
    expect(error).toBeInstanceOf(GrpcError);
    expect((error as GrpcError).code).toBe(Status.CANCELLED);
  });

  it('client-streaming: the request stream can be consumed only once', async () => {
    const { port } = await harness.serve({
      async stream_unary(reqs: MessageStream<ExampleRequest>) {
        reqs.subscribe();
        for await (const _ of reqs) void _;
        return {};
      },
    });
    const { error } = await clientStream(harness.client(port), ['a']);
    expect(error?.code).toBe(grpc.status.UNKNOWN);
  });

  it.each([
    ['an Observable mapped from the requests', (reqs: MessageStream<ExampleRequest>) =>
      reqs.pipe(map((r, i) => ({ message: r.value.toUpperCase(), seqno: i + 1 })))],
    ['an async generator over the requests', async function* (reqs: MessageStream<ExampleRequest>) {
      let i = 0;
      for await (const r of reqs) yield { message: r.value.toUpperCase(), seqno: ++i };
    }],
    ['an Observable that answers each request as it comes', (reqs: MessageStream<ExampleRequest>, _ctx: GrpcContext) =>
      new Observable<ExampleReply>((subscriber) => {
        let i = 0;
        return reqs.subscribe({
          next: (r) => subscriber.next({ message: r.value.toUpperCase(), seqno: ++i }),
          complete: () => subscriber.complete(),
          error: (e) => subscriber.error(e),
        });
      })],
  ])('bidi: accepts %s', async (_name, handler) => {
    const { port } = await harness.serve({ stream_stream: handler });
    const { messages, status } = await bidi(harness.client(port), ['a', 'b']);
    expect(status.code).toBe(grpc.status.OK);
    expect(messages).toEqual([
      { message: 'A', seqno: 1 },
      { message: 'B', seqno: 2 },
    ]);
  });

  it('bidi: replies interleave with requests (the handler answers before the client half-closes)', async () => {
    const { port } = await harness.serve(exampleImplementation);
    const call = harness.client(port).stream_stream();
    const replies: string[] = [];
    for (const value of ['one', 'two', 'three']) {
      const reply = new Promise<any>((resolve) => call.once('data', resolve));
      call.write({ value });
      replies.push((await reply).message);
    }
    call.end();
    await collect(call);
    expect(replies).toEqual(['one', 'two', 'three']);
  });
});

describe('GrpcServer services', () => {
  const harness = new Harness();
  afterEach(() => harness.close());

  it('serves a @grpc/grpc-js service definition with camelCase implementation methods, and reports what it serves', async () => {
    const server = new GrpcServer();
    const served = server.addService(exampleClientConstructor().service, {
      unaryUnary: (r: ExampleRequest) => ({ message: `camel ${r.value}` }),
      unary_stream: exampleImplementation.unary_stream,
    });
    expect(served.sort()).toEqual(['unary_stream', 'unary_unary']);
    const port = await server.listen('127.0.0.1:0');
    const client = harness.track(exampleGrpcJsClient(port));
    try {
      expect((await grpcJsUnary(client, 'unary_unary', { value: 'v' })).response.message).toBe('camel v');
      expect((await collect(client.unary_stream({ value: 'v' }))).messages).toHaveLength(2);
    } finally {
      server.forceShutdown();
    }
  });

  it('refuses a second handler for the same method', () => {
    const server = new GrpcServer();
    server.addService(exampleStub, exampleImplementation);
    expect(() => server.addService(exampleStub, exampleImplementation)).toThrow(/already registered/);
  });

  it('listens on IPv6 and names IPv6 peers in brackets', async () => {
    const server = new GrpcServer();
    const peer = new Promise<string>((resolve) => {
      server.addService(exampleStub, {
        unary_unary: (_r: ExampleRequest, ctx: GrpcContext) => {
          resolve(ctx.peer);
          return {};
        },
      });
    });
    const port = await server.listen('[::1]:0');
    expect(server.port).toBe(port);
    const Client = exampleClientConstructor();
    const client = harness.track(new Client(`[::1]:${port}`, grpc.credentials.createInsecure()) as ExampleClient);
    try {
      await grpcJsUnary(client, 'unary_unary', { value: 'v' });
      expect(await peer).toMatch(/^\[::1\]:\d+$/);
    } finally {
      server.forceShutdown();
    }
  });

  it.each(['0.0.0.0:0', ':0'])('listens on all interfaces with %j and resolves with the bound port', async (address) => {
    const server = new GrpcServer();
    server.addService(exampleStub, exampleImplementation);
    const port = await server.listen(address);
    try {
      expect(port).toBeGreaterThan(0);
      expect(server.port).toBe(port);
      const client = harness.track(exampleGrpcJsClient(port));
      expect((await grpcJsUnary(client, 'unary_unary', { value: 'all' })).response.message).toBe('all');
    } finally {
      server.forceShutdown();
    }
  });

  it('rejects a malformed listen address and a port in use', async () => {
    await expect(new GrpcServer().listen('localhost')).rejects.toThrow(TypeError);
    await expect(new GrpcServer().listen('127.0.0.1:70000')).rejects.toThrow(TypeError);
    const { port } = await harness.serve(exampleImplementation);
    const second = new GrpcServer();
    await expect(second.listen(`127.0.0.1:${port}`)).rejects.toThrow(/EADDRINUSE/);
    second.forceShutdown();
  });
});
