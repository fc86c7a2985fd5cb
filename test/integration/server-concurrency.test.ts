import * as grpc from '@grpc/grpc-js';
import { GrpcContext } from '../../lib/index.js';
import { type ExampleRequest, exampleImplementation } from '../helpers/example-service.js';
import { collect } from '../helpers/grpc-js.js';
import { type ExampleClient, Harness } from '../helpers/harness.js';

const CALLS = 1000;

/** The example handlers, each also recording the connection (peer) its call came on. */
function recordingImplementation(peers: Set<string>) {
  return {
    unary_unary(request: ExampleRequest, ctx: GrpcContext) {
      peers.add(ctx.peer);
      return exampleImplementation.unary_unary(request);
    },
    unary_stream(request: ExampleRequest, ctx: GrpcContext) {
      peers.add(ctx.peer);
      return exampleImplementation.unary_stream(request);
    },
    stream_unary(requests: Parameters<typeof exampleImplementation.stream_unary>[0], ctx: GrpcContext) {
      peers.add(ctx.peer);
      return exampleImplementation.stream_unary(requests);
    },
    stream_stream(requests: Parameters<typeof exampleImplementation.stream_stream>[0], ctx: GrpcContext) {
      peers.add(ctx.peer);
      return exampleImplementation.stream_stream(requests, ctx);
    },
  };
}

/** One call of each pattern, checked against the answer only that call's own input gives. */
const patterns = {
  async unary_unary(client: ExampleClient, i: number): Promise<void> {
    const reply = await new Promise<any>((resolve, reject) =>
      client.unary_unary({ value: `u${i}`, multiplier: 2 }, (error: Error | null, value: unknown) => (error ? reject(error) : resolve(value))),
    );
    expect(reply.message).toBe(`u${i}u${i}`);
  },
  async unary_stream(client: ExampleClient, i: number): Promise<void> {
    const { messages, status } = await collect(client.unary_stream({ value: `s${i}` }));
    expect(status.code).toBe(grpc.status.OK);
    expect(messages).toEqual([
      { message: `s${i}`, seqno: 1 },
      { message: `s${i}`, seqno: 2 },
    ]);
  },
  async stream_unary(client: ExampleClient, i: number): Promise<void> {
    const reply = await new Promise<any>((resolve, reject) => {
      const call = client.stream_unary((error: Error | null, value: unknown) => (error ? reject(error) : resolve(value)));
      for (const part of ['a', 'b', 'c']) call.write({ value: `${part}${i}` });
      call.end();
    });
    expect(reply.message).toBe(`a${i},b${i},c${i}`);
  },
  async stream_stream(client: ExampleClient, i: number): Promise<void> {
    const call = client.stream_stream();
    const result = collect(call);
    call.write({ value: `x${i}` });
    call.write({ value: `y${i}` });
    call.end();
    const { messages, status } = await result;
    expect(status.code).toBe(grpc.status.OK);
    expect(messages).toEqual([
      { message: `x${i}`, seqno: 1 },
      { message: `y${i}`, seqno: 2 },
    ]);
  },
};

describe('GrpcServer under 1,000 concurrent calls per pattern', () => {
  const harness = new Harness();
  afterEach(() => harness.close());

  it.each(Object.keys(patterns) as Array<keyof typeof patterns>)('%s: 1,000 concurrent calls on one connection', async (pattern) => {
    const peers = new Set<string>();
    const { port } = await harness.serve(recordingImplementation(peers));
    const client = harness.client(port);
    await Promise.all(Array.from({ length: CALLS }, (_, i) => patterns[pattern](client, i)));
    expect(peers.size).toBe(1);
  });

  it('all four patterns at once, 1,000 calls each, spread over 10 connections', async () => {
    const peers = new Set<string>();
    const { port } = await harness.serve(recordingImplementation(peers));
    const clients = Array.from({ length: 10 }, () => harness.client(port));
    const calls: Array<Promise<void>> = [];
    for (const pattern of Object.keys(patterns) as Array<keyof typeof patterns>) {
      for (let i = 0; i < CALLS; i++) calls.push(patterns[pattern](clients[i % clients.length], i));
    }
    await Promise.all(calls);
    expect(peers.size).toBe(10);
  });
});
