/** README, "The call context": metadata in and out, and a status without throwing. */
import { type GrpcContext, GrpcClient, GrpcError, GrpcServer, Metadata, Status } from 'nestjs-grpc-transport/core';
import { type ExampleReply, type ExampleRequest, exampleStub } from './generated/nameko.js';

// #region server
function unaryUnary(request: ExampleRequest, context: GrpcContext): ExampleReply {
  const requestId = context.metadata.first('x-request-id'); // request metadata (-bin keys hold Buffers)
  context.sendInitialMetadata(new Metadata({ 'x-served-by': 'replica-1' })); // the response headers, sent now
  context.trailingMetadata.set('x-request-id', requestId ?? 'none'); // sent with the status
  if (request.multiplier > 10) {
    context.setCode(Status.OUT_OF_RANGE); // a status without throwing: the call fails with it
    context.setMessage('multiplier must be at most 10');
  }
  return { message: request.value.repeat(request.multiplier), seqno: 0 };
}
// #endregion

// #region client
export async function callWithMetadata(target = 'localhost:50051') {
  await using client = new GrpcClient(target, exampleStub);
  const call = client.call.unary_unary({ value: 'A', multiplier: 2 }, { metadata: { 'x-request-id': 'r-1' } });
  const servedBy = (await call.headers).first('x-served-by'); // 'replica-1'
  const reply = await call.response; // { message: 'AA', seqno: 0 }
  const requestId = (await call.trailers).first('x-request-id'); // 'r-1'

  const failure = await client.unary_unary({ value: 'A', multiplier: 11 }, { metadata: { 'x-request-id': 'r-2' } }).then(
    () => undefined,
    (error: GrpcError) => error, // code: Status.OUT_OF_RANGE, message: 'multiplier must be at most 10', metadata: the trailers
  );
  return { servedBy, reply, requestId, failure };
}
// #endregion

/** Serves unaryUnary above as nameko.example/unary_unary. */
export async function serveContext(address = '0.0.0.0:50051') {
  const server = new GrpcServer();
  server.addService(exampleStub, { unary_unary: unaryUnary });
  await server.listen(address);
  return server;
}
