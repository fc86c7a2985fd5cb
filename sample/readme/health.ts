/** README, "Health checking": a GrpcServer serving grpc.health.v1.Health, and a client of it. */
import { GrpcClient, GrpcServer, healthStub } from 'nestjs-grpc-transport/core';
import { exampleStub } from './generated/nameko.js';

// #region server
export async function serveWithHealth(address = '0.0.0.0:50051') {
  const server = new GrpcServer({ health: true });
  server.addService(exampleStub, {}); // RPCs without a handler answer UNIMPLEMENTED
  server.health.setStatus('nameko.example', 'NOT_SERVING'); // also getStatus, clearStatus
  await server.listen(address);
  return server;
}
// #endregion

// #region client
export async function checkHealth(target = 'localhost:50051') {
  await using health = new GrpcClient(target, healthStub()); // a client of any gRPC server's health
  const server = await health.Check({ service: '' }); // { status: 'SERVING' }: the server as a whole
  const example = await health.Check({ service: 'nameko.example' }); // { status: 'NOT_SERVING' }
  return { server: server.status, example: example.status };
}
// #endregion
