/**
 * TLS and mutual TLS: `credentials: { ca, cert?, key?, serverNameOverride? }` against a grpc-js
 * TLS server (grpc.ServerCredentials.createSsl), with certificates made by openssl at test time.
 */
import * as grpc from '@grpc/grpc-js';
import net from 'node:net';
import { lastValueFrom, toArray } from 'rxjs';
import { GrpcClient, GrpcServer, Status } from '../../lib/index.js';
import { makeTestCertificates, type TestCertificates } from '../helpers/certs.js';
import { exampleImplementation } from '../helpers/example-service.js';
import { exampleClientConstructor, grpcJsExampleImplementation, startGrpcJsServer } from '../helpers/grpc-js.js';
import { typedExampleStub as exampleStub } from '../helpers/typed-example.js';

const REQUEST = { value: 'A', multiplier: 2 };

let certs: TestCertificates;

beforeAll(() => {
  certs = makeTestCertificates();
});

/** A grpc-js TLS server on `host`:0 recording the :authority of each call; `clientCa` requires client certificates. */
async function startTlsServer(host: string, clientCa?: Buffer): Promise<{ server: grpc.Server; port: number; authorities: string[] }> {
  const authorities: string[] = [];
  const server = new grpc.Server();
  server.addService(exampleClientConstructor().service, {
    ...grpcJsExampleImplementation,
    unary_unary(call: grpc.ServerUnaryCall<any, any>, callback: grpc.sendUnaryData<any>) {
      authorities.push(call.getHost());
      callback(null, { message: call.request.value.repeat(call.request.multiplier), seqno: 0 });
    },
  });
  const credentials = grpc.ServerCredentials.createSsl(clientCa ?? null, [{ private_key: certs.serverKey, cert_chain: certs.serverCert }], clientCa !== undefined);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:0`, credentials, (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  return { server, port, authorities };
}

describe('TLS against a grpc-js server', () => {
  let tls: Awaited<ReturnType<typeof startTlsServer>>;

  beforeAll(async () => {
    tls = await startTlsServer('127.0.0.1');
  });

  afterAll(() => tls.server.forceShutdown());

  it('with the CA, every pattern works, to an IP and to a host name', async () => {
    for (const host of ['127.0.0.1', 'localhost']) {
      const client = new GrpcClient(`${host}:${tls.port}`, exampleStub, { credentials: { ca: certs.ca } });
      try {
        await expect(client.unary_unary(REQUEST)).resolves.toEqual({ message: 'AA', seqno: 0 });
        await expect(lastValueFrom(client.unary_stream(REQUEST).pipe(toArray()))).resolves.toHaveLength(2);
        await expect(client.stream_unary([REQUEST, REQUEST])).resolves.toEqual({ message: 'AA,AA', seqno: 0 });
        await expect(lastValueFrom(client.stream_stream([REQUEST]).pipe(toArray()))).resolves.toEqual([{ message: 'AA', seqno: 1 }]);
      } finally {
        client.close();
      }
    }
    expect(tls.authorities).toEqual([`127.0.0.1:${tls.port}`, `localhost:${tls.port}`]);
  });

  it('a server certificate from another CA fails UNAVAILABLE', async () => {
    const client = new GrpcClient(`127.0.0.1:${tls.port}`, exampleStub, { credentials: { ca: certs.rogueCert } });
    try {
      const error = await client.connect().catch((failure: unknown) => failure);
      expect(error).toMatchObject({ code: Status.UNAVAILABLE });
      await expect(client.unary_unary(REQUEST)).rejects.toMatchObject({ code: Status.UNAVAILABLE });
    } finally {
      client.close();
    }
  });

  it('a plaintext client cannot talk to a TLS server, nor a TLS client to a plaintext one', async () => {
    const plain = new GrpcClient(`127.0.0.1:${tls.port}`, exampleStub, { connectTimeoutMs: 2000 });
    const { server: h2c, port } = await startGrpcJsServer();
    const secure = new GrpcClient(`127.0.0.1:${port}`, exampleStub, { credentials: { ca: certs.ca } });
    try {
      await expect(plain.unary_unary(REQUEST)).rejects.toMatchObject({ code: Status.UNAVAILABLE });
      await expect(secure.unary_unary(REQUEST)).rejects.toMatchObject({ code: Status.UNAVAILABLE });
    } finally {
      plain.close();
      secure.close();
      h2c.forceShutdown();
    }
  });
});

describe('a TLS connection attempt', () => {
  it('to a server that never answers the handshake fails UNAVAILABLE after connectTimeoutMs', async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((socket) => {
      sockets.push(socket);
      socket.resume();
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const client = new GrpcClient(`127.0.0.1:${(silent.address() as net.AddressInfo).port}`, exampleStub, {
      credentials: { ca: certs.ca },
      connectTimeoutMs: 200,
    });
    try {
      await expect(client.unary_unary(REQUEST)).rejects.toMatchObject({ code: Status.UNAVAILABLE });
      // The client let go of the socket.
      await new Promise((resolve) => (sockets[0].closed ? resolve(undefined) : sockets[0].once('close', resolve)));
    } finally {
      client.close();
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });
});

describe('serverNameOverride', () => {
  let tls: Awaited<ReturnType<typeof startTlsServer>>;

  beforeAll(async () => {
    // 127.0.0.2 is on the loopback interface but not in the certificate (localhost, 127.0.0.1).
    tls = await startTlsServer('127.0.0.2');
  });

  afterAll(() => tls.server.forceShutdown());

  it('without it, a certificate not naming the target fails UNAVAILABLE', async () => {
    const client = new GrpcClient(`127.0.0.2:${tls.port}`, exampleStub, { credentials: { ca: certs.ca } });
    try {
      const error = await client.unary_unary(REQUEST).catch((failure: unknown) => failure);
      expect(error).toMatchObject({ code: Status.UNAVAILABLE });
      expect(String((error as Error).message)).toMatch(/altnames|certificate|127\.0\.0\.2/i);
    } finally {
      client.close();
    }
  });

  it('with it, the certificate is checked against the override, which is also the :authority', async () => {
    const client = new GrpcClient(`127.0.0.2:${tls.port}`, exampleStub, { credentials: { ca: certs.ca, serverNameOverride: 'localhost' } });
    try {
      await expect(client.unary_unary(REQUEST)).resolves.toEqual({ message: 'AA', seqno: 0 });
      expect(tls.authorities).toEqual([`localhost:${tls.port}`]);
    } finally {
      client.close();
    }
  });
});

describe('mutual TLS against a grpc-js server', () => {
  let tls: Awaited<ReturnType<typeof startTlsServer>>;

  beforeAll(async () => {
    tls = await startTlsServer('127.0.0.1', certs.ca);
  });

  afterAll(() => tls.server.forceShutdown());

  it('a client certificate signed by the CA is accepted', async () => {
    const client = new GrpcClient(`localhost:${tls.port}`, exampleStub, { credentials: { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey } });
    try {
      await expect(client.unary_unary(REQUEST)).resolves.toEqual({ message: 'AA', seqno: 0 });
      await expect(lastValueFrom(client.stream_stream([REQUEST, REQUEST]).pipe(toArray()))).resolves.toHaveLength(2);
    } finally {
      client.close();
    }
  });

  it('no client certificate, or one from another CA, is refused: UNAVAILABLE', async () => {
    for (const credentials of [{ ca: certs.ca }, { ca: certs.ca, cert: certs.rogueCert, key: certs.rogueKey }]) {
      const client = new GrpcClient(`localhost:${tls.port}`, exampleStub, { credentials });
      try {
        await expect(client.unary_unary(REQUEST)).rejects.toMatchObject({ code: Status.UNAVAILABLE });
      } finally {
        client.close();
      }
    }
  });
});

describe('mutual TLS against our GrpcServer', () => {
  it('a client certificate is required and accepted', async () => {
    const server = new GrpcServer({ credentials: { cert: certs.serverCert, key: certs.serverKey, ca: certs.ca, requireClientCert: true } });
    server.addService(exampleStub, exampleImplementation);
    const port = await server.listen('127.0.0.1:0');
    const good = new GrpcClient(`127.0.0.1:${port}`, exampleStub, { credentials: { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey } });
    const anonymous = new GrpcClient(`127.0.0.1:${port}`, exampleStub, { credentials: { ca: certs.ca } });
    try {
      await expect(good.unary_unary(REQUEST)).resolves.toEqual({ message: 'AA', seqno: 0 });
      await expect(anonymous.unary_unary(REQUEST)).rejects.toMatchObject({ code: Status.UNAVAILABLE });
    } finally {
      good.close();
      anonymous.close();
      server.forceShutdown();
    }
  });
});
