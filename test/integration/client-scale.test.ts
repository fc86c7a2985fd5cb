/**
 * Scale through one client: 10,000 concurrent unary calls all answered correctly (against a
 * grpc-js server), and a 100,000-message bidi stream with every reply in order (against our
 * GrpcServer: grpc-js's server alone needs about twice as long for it, which the suite's time
 * budget on two cores does not allow).
 */
import type * as grpc from '@grpc/grpc-js';
import { GrpcClient, GrpcServer } from '../../lib/index.js';
import { exampleImplementation } from '../helpers/example-service.js';
import { grpcJsExampleImplementation, startGrpcJsServer } from '../helpers/grpc-js.js';
import { typedExampleStub as exampleStub } from '../helpers/typed-example.js';

it('10,000 concurrent unary calls to a grpc-js server complete, each with its own reply', async () => {
  const { server, port } = await startGrpcJsServer({
    ...grpcJsExampleImplementation,
    unary_unary(call: grpc.ServerUnaryCall<any, any>, callback: grpc.sendUnaryData<any>) {
      callback(null, { message: call.request.value, seqno: call.request.multiplier });
    },
  });
  const client = new GrpcClient(`127.0.0.1:${port}`, exampleStub);
  try {
    const count = 10_000;
    const replies = await Promise.all(Array.from({ length: count }, (_, i) => client.unary_unary({ value: `call-${i}`, multiplier: i })));
    expect(replies).toHaveLength(count);
    const wrong = replies.filter((reply, i) => reply.message !== `call-${i}` || reply.seqno !== i);
    expect(wrong).toEqual([]);
  } finally {
    client.close();
    server.forceShutdown();
  }
}, 120_000);

it('a 100,000-message bidi stream completes with every reply in order', async () => {
  const server = new GrpcServer();
  server.addService(exampleStub, exampleImplementation);
  const client = new GrpcClient(`127.0.0.1:${await server.listen('127.0.0.1:0')}`, exampleStub);
  try {
    const count = 100_000;
    function* requests() {
      for (let i = 0; i < count; i++) yield { value: `m${i}`, multiplier: 1 };
    }
    let received = 0;
    let outOfOrder = 0;
    for await (const reply of client.stream_stream(requests())) {
      if (reply.seqno !== received + 1 || reply.message !== `m${received}`) outOfOrder++;
      received++;
    }
    expect(received).toBe(count);
    expect(outOfOrder).toBe(0);
  } finally {
    client.close();
    server.forceShutdown();
  }
}, 120_000);
