/** README, "TLS and mutual TLS": a server that requires client certificates, and a client presenting one. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type GrpcContext, GrpcClient, GrpcServer } from 'nestjs-grpc-transport/core';
import { type ExampleReply, type ExampleRequest, exampleStub } from './generated/nameko.js';

// #region server
export async function serveMutualTls(address = '0.0.0.0:50051', certs = 'certs') {
  const server = new GrpcServer({
    credentials: {
      cert: readFileSync(join(certs, 'server.pem')), // the server's certificate chain and key
      key: readFileSync(join(certs, 'server.key')),
      ca: readFileSync(join(certs, 'ca.pem')), // client certificates must chain to this CA…
      requireClientCert: true, // …and are required (mutual TLS)
    },
  });
  server.addService(exampleStub, {
    unary_unary: (request: ExampleRequest, context: GrpcContext): ExampleReply => ({
      message: `${request.value}, ${context.peerCertificate?.subject.CN}`, // the verified client certificate
      seqno: 0,
    }),
  });
  await server.listen(address);
  return server;
}
// #endregion

// #region client
export async function callMutualTls(target = 'localhost:50051', certs = 'certs') {
  await using client = new GrpcClient(target, exampleStub, {
    credentials: {
      ca: readFileSync(join(certs, 'ca.pem')), // trust this CA only (default: Node's root certificates)
      cert: readFileSync(join(certs, 'client.pem')), // present this certificate (mutual TLS)
      key: readFileSync(join(certs, 'client.key')),
      // serverNameOverride: 'api.example.com', // check the certificate against this name, not the target's host
    },
  });
  // `return await`: a bare `return` would close the client (`await using`) before the reply came
  return await client.unary_unary({ value: 'hello' }); // { message: 'hello, <the client certificate's CN>' }
}
// #endregion
