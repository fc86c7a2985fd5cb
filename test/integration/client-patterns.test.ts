import { from, lastValueFrom, of, toArray } from 'rxjs';
import { GrpcClient, GrpcServer } from '../../lib/index.js';
import { exampleImplementation, exampleStub } from '../helpers/example-service.js';
import { startGrpcJsServer } from '../helpers/grpc-js.js';

const servers: Array<{ name: string; start: () => Promise<{ port: number; stop: () => Promise<void> }> }> = [
  {
    name: '@grpc/grpc-js server',
    start: async () => {
      const { server, port } = await startGrpcJsServer();
      return { port, stop: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())) };
    },
  },
  {
    name: 'our GrpcServer',
    start: async () => {
      const server = new GrpcServer();
      server.addService(exampleStub, exampleImplementation);
      const port = await server.listen('127.0.0.1:0');
      return { port, stop: () => server.shutdown() };
    },
  },
];

describe.each(servers)('GrpcClient calls the four patterns on $name', ({ start }) => {
  let stop: () => Promise<void>;
  let client: GrpcClient<typeof exampleStub>;

  beforeAll(async () => {
    const started = await start();
    stop = started.stop;
    client = new GrpcClient(`127.0.0.1:${started.port}`, exampleStub);
  });

  afterAll(async () => {
    client.close();
    await stop();
  });

  it('unary_unary returns a Promise of the reply', async () => {
    await expect(client.unary_unary({ value: 'A', multiplier: 2 })).resolves.toEqual({ message: 'AA', seqno: 0 });
  });

  it('unary_stream returns an Observable of replies', async () => {
    const replies = await lastValueFrom(client.unary_stream({ value: 'B', multiplier: 1 }).pipe(toArray()));
    expect(replies).toEqual([
      { message: 'B', seqno: 1 },
      { message: 'B', seqno: 2 },
    ]);
  });

  it('unary_stream is also async-iterable', async () => {
    const replies = [];
    for await (const reply of client.unaryStream({ value: 'C', multiplier: 1 })) replies.push(reply);
    expect(replies.map((reply) => reply.seqno)).toEqual([1, 2]);
  });

  it('stream_unary takes an Observable, an AsyncIterable or an Iterable', async () => {
    const requests = [
      { value: 'A', multiplier: 1 },
      { value: 'B', multiplier: 2 },
    ];
    async function* generate() {
      yield* requests;
    }
    await expect(client.stream_unary(from(requests))).resolves.toEqual({ message: 'A,BB', seqno: 0 });
    await expect(client.stream_unary(generate())).resolves.toEqual({ message: 'A,BB', seqno: 0 });
    await expect(client.stream_unary(requests)).resolves.toEqual({ message: 'A,BB', seqno: 0 });
  });

  it('stream_stream', async () => {
    const replies = await lastValueFrom(client.stream_stream(of({ value: 'x', multiplier: 2 }, { value: 'y', multiplier: 1 })).pipe(toArray()));
    expect(replies).toEqual([
      { message: 'xx', seqno: 1 },
      { message: 'y', seqno: 2 },
    ]);
  });

  it('the call-object form exposes headers, trailers and status on success', async () => {
    const call = client.call.unary_unary({ value: 'Z', multiplier: 1 });
    await expect(call.response).resolves.toEqual({ message: 'Z', seqno: 0 });
    const status = await call.status;
    expect(status.code).toBe(0);
    await expect(call.headers).resolves.toBeDefined();
    await expect(call.trailers).resolves.toBeDefined();
  });
});

