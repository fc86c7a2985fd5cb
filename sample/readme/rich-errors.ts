/** README, "Rich error details": a handler failing with google.rpc details, and a client reading them. */
import { GrpcClient, GrpcError, GrpcServer, Status, findDetail, packDetail, unpackDetails } from 'nestjs-grpc-transport/core';
import { type ExampleReply, type ExampleRequest, exampleStub } from './generated/nameko.js';

// #region server
function unaryUnary(request: ExampleRequest): ExampleReply {
  if (request.value === '') {
    throw new GrpcError(Status.INVALID_ARGUMENT, 'Invalid request', [
      packDetail('BadRequest', { fieldViolations: [{ field: 'value', description: 'must not be empty' }] }),
      packDetail('RetryInfo', { retryDelay: { seconds: 5, nanos: 0 } }),
    ]);
  }
  return { message: request.value, seqno: 0 };
}
// #endregion

// #region client
export async function explainFailure(target = 'localhost:50051') {
  await using client = new GrpcClient(target, exampleStub);
  try {
    await client.unary_unary({ value: '' });
    return undefined;
  } catch (error) {
    if (!(error instanceof GrpcError)) throw error;
    const violations = findDetail(error, 'BadRequest')?.fieldViolations; // [{ field: 'value', description: 'must not be empty', … }]
    const details = unpackDetails(error.details); // [{ type: 'BadRequest', value: … }, { type: 'RetryInfo', value: … }]
    return { code: error.codeName, message: error.message, violations, details };
  }
}
// #endregion

/** Serves unaryUnary above as nameko.example/unary_unary. */
export async function serveRichErrors(address = '0.0.0.0:50051') {
  const server = new GrpcServer();
  server.addService(exampleStub, { unary_unary: unaryUnary });
  await server.listen(address);
  return server;
}
