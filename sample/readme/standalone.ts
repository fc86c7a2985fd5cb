/** README, "The standalone client and server": GrpcClient and GrpcServer without Nest. */
// #region client
import { lastValueFrom, toArray } from 'rxjs';
import { type GrpcContext, GrpcClient, GrpcServer, type MessageStream } from 'nestjs-grpc-transport/core';
import { type ExampleReply, type ExampleRequest, exampleStub } from './generated/nameko.js';

export async function useClient(target = 'localhost:50051') {
  await using client = new GrpcClient(target, exampleStub); // or 'dns:///name:port', 'unix:///path', [t1, t2]: see Deploying
  const reply = await client.unary_unary({ value: 'A' }, { timeout: 5_000 }); // typed from the stub

  const replies = await lastValueFrom(client.unary_stream({ value: 'B' }).pipe(toArray())); // a cold Observable: unsubscribe cancels
  for await (const r of client.unaryStream({ value: 'C' })) { // camelCase alias; also async-iterable
    if (r.seqno === 2) break; // break cancels the call
  }

  const joined = await client.stream_unary([{ value: 'A' }, { value: 'B' }]); // an Observable, AsyncIterable or Iterable

  const call = client.call.unary_unary({ value: 'D' }, { metadata: { 'x-id': '1' } }); // the call object
  const [headers, response, trailers, status] = await Promise.all([call.headers, call.response, call.trailers, call.status]); // or call.cancel()
  return { reply, replies, joined, headers, response, trailers, status };
}
// #endregion

// #region server
export async function serve(address = '0.0.0.0:50051') {
  const server = new GrpcServer({ compression: 'gzip' });
  server.addService(exampleStub, {
    unary_unary(request: ExampleRequest, context: GrpcContext): ExampleReply {
      context.setTrailingMetadata(context.metadata); // echo the request metadata
      return { message: request.value, seqno: 0 };
    },
    async *unary_stream(request: ExampleRequest): AsyncIterable<ExampleReply> {
      for (let seqno = 1; seqno <= 3; seqno++) yield { message: request.value, seqno };
    },
    async stream_unary(requests: MessageStream<ExampleRequest>): Promise<ExampleReply> {
      const values: string[] = [];
      for await (const request of requests) values.push(request.value);
      return { message: values.join(''), seqno: values.length };
    },
  });
  const port = await server.listen(address); // port 0 picks a free one
  return { server, port }; // then: await server.shutdown({ graceMs: 5000 }), or forceShutdown() to cancel calls at once
}
// #endregion
