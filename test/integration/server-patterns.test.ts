import * as grpc from '@grpc/grpc-js';
import { GrpcServer } from '../../lib/index.js';
import { exampleImplementation, exampleStub } from '../helpers/example-service.js';
import { collect, exampleGrpcJsClient, grpcJsUnary } from '../helpers/grpc-js.js';

describe('GrpcServer serves the four call patterns to a @grpc/grpc-js client', () => {
  let server: GrpcServer;
  let client: grpc.Client & Record<string, any>;

  beforeAll(async () => {
    server = new GrpcServer();
    server.addService(exampleStub, exampleImplementation);
    const port = await server.listen('127.0.0.1:0');
    client = exampleGrpcJsClient(port);
  });

  afterAll(async () => {
    client.close();
    await server.shutdown();
  });

  it('unary_unary', async () => {
    const { response } = await grpcJsUnary(client, 'unary_unary', { value: 'A', multiplier: 3 });
    expect(response).toEqual({ message: 'AAA', seqno: 0 });
  });

  it('unary_stream', async () => {
    const { messages, status } = await collect(client.unary_stream({ value: 'B', multiplier: 2 }));
    expect(status.code).toBe(grpc.status.OK);
    expect(messages).toEqual([
      { message: 'BB', seqno: 1 },
      { message: 'BB', seqno: 2 },
    ]);
  });

  it('stream_unary', async () => {
    const response = await new Promise((resolve, reject) => {
      const call = client.stream_unary((err: Error | null, value: unknown) => (err ? reject(err) : resolve(value)));
      for (const value of ['A', 'B', 'C']) call.write({ value, multiplier: 2 });
      call.end();
    });
    expect(response).toEqual({ message: 'AA,BB,CC', seqno: 0 });
  });

  it('stream_stream', async () => {
    const call = client.stream_stream();
    const result = collect(call);
    for (const value of ['x', 'y']) call.write({ value, multiplier: 1 });
    call.end();
    const { messages, status } = await result;
    expect(status.code).toBe(grpc.status.OK);
    expect(messages).toEqual([
      { message: 'x', seqno: 1 },
      { message: 'y', seqno: 2 },
    ]);
  });
});
