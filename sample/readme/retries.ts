/** README, "Retries and service config": a client whose service config retries failed calls. */
import { GrpcClient, GrpcError, GrpcServer, Status } from 'nestjs-grpc-transport/core';
import { type ExampleReply, type ExampleRequest, exampleStub } from './generated/nameko.js';

// #region client
export function retryingClient(target = 'localhost:50051') {
  return new GrpcClient(target, exampleStub, {
    serviceConfig: {
      methodConfig: [
        { name: [{}], timeout: '10s' }, // every method
        {
          name: [{ service: 'nameko.example', method: 'unary_unary' }, { service: 'nameko.other' }],
          waitForReady: true,
          retryPolicy: {
            maxAttempts: 4, initialBackoff: '0.1s', maxBackoff: '1s', backoffMultiplier: 2,
            retryableStatusCodes: ['UNAVAILABLE', 'RESOURCE_EXHAUSTED'],
          },
        },
      ],
      retryThrottling: { maxTokens: 10, tokenRatio: 0.1 },
    },
  });
}
// #endregion

/** Serves nameko.example/unary_unary failing UNAVAILABLE `failures` times before it answers; `attempts()` counts the calls it saw. */
export async function serveFlaky(address = '0.0.0.0:50051', failures = 2) {
  let attempts = 0;
  const server = new GrpcServer();
  server.addService(exampleStub, {
    unary_unary(request: ExampleRequest): ExampleReply {
      if (++attempts <= failures) throw new GrpcError(Status.UNAVAILABLE, 'warming up');
      return { message: request.value, seqno: attempts };
    },
  });
  const port = await server.listen(address);
  return { server, port, attempts: () => attempts };
}
