/** README, "Compression": gzip or deflate per server, client, call and message. */
import { type GrpcContext, GrpcClient, GrpcServer, wasCompressed, withoutCompression } from 'nestjs-grpc-transport/core';
import { type ExampleReply, type ExampleRequest, exampleStub } from './generated/nameko.js';

// #region server
export async function serveCompressed(address = '0.0.0.0:50051') {
  const server = new GrpcServer({ compression: 'gzip' }); // responses, when the client accepts gzip
  server.addService(exampleStub, {
    unary_unary(request: ExampleRequest, context: GrpcContext): ExampleReply {
      if (request.value === 'deflate') context.setCompression('deflate'); // this call's responses
      return { message: request.value.repeat(100), seqno: wasCompressed(request) ? 1 : 0 }; // was the request compressed?
    },
    async *unary_stream(request: ExampleRequest): AsyncIterable<ExampleReply> {
      yield { message: request.value, seqno: 1 };
      yield withoutCompression({ message: 'already compressed bytes', seqno: 2 }); // this message goes uncompressed
    },
  });
  await server.listen(address);
  return server;
}
// #endregion

// #region client
export async function callCompressed(target = 'localhost:50051') {
  await using client = new GrpcClient(target, exampleStub, { compression: 'gzip' }); // every request
  const reply = await client.unary_unary({ value: 'A' }); // reply.seqno: 1, the server saw a compressed request
  const plain = await client.unary_unary({ value: 'B' }, { compression: 'identity' }); // this call's requests, uncompressed
  const replyCompressed = wasCompressed(reply); // true: the server's gzip
  return { reply, plain, replyCompressed };
}
// #endregion
