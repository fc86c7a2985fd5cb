import * as grpc from '@grpc/grpc-js';
import type { PeerCertificate } from 'node:tls';
import tls from 'node:tls';
import { GrpcContext, type GrpcServerOptions } from '../../lib/index.js';
import { makeTestCertificates, type TestCertificates } from '../helpers/certs.js';
import { type ExampleRequest, exampleImplementation } from '../helpers/example-service.js';
import { exampleClientConstructor, grpcJsUnary } from '../helpers/grpc-js.js';
import { type ExampleClient, Harness } from '../helpers/harness.js';

describe('GrpcServer over TLS and mutual TLS', () => {
  const harness = new Harness();
  let certs: TestCertificates;
  const peers: Array<PeerCertificate | undefined> = [];

  beforeAll(() => {
    certs = makeTestCertificates();
  });
  afterEach(() => {
    harness.close();
    peers.length = 0;
  });

  async function serveTls(credentials: Partial<NonNullable<GrpcServerOptions['credentials']>> = {}): Promise<number> {
    const { port } = await harness.serve(
      {
        ...exampleImplementation,
        unary_unary(request: ExampleRequest, ctx: GrpcContext) {
          peers.push(ctx.peerCertificate);
          return { message: `secure ${request.value}` };
        },
      },
      { credentials: { cert: certs.serverCert, key: certs.serverKey, ...credentials } },
    );
    return port;
  }

  function client(port: number, credentials: grpc.ChannelCredentials): ExampleClient {
    const Client = exampleClientConstructor();
    return harness.track(new Client(`127.0.0.1:${port}`, credentials, { 'grpc.use_local_subchannel_pool': 1 }) as ExampleClient);
  }

  async function outcome(c: ExampleClient): Promise<string | number> {
    return grpcJsUnary(c, 'unary_unary', { value: 'hi' }, new grpc.Metadata(), { deadline: Date.now() + 5000 }).then(
      ({ response }) => response.message as string,
      (error: grpc.ServiceError) => error.code,
    );
  }

  it('serves grpc-js over TLS, with no peer certificate when none was asked for', async () => {
    const port = await serveTls();
    expect(await outcome(client(port, grpc.credentials.createSsl(certs.ca)))).toBe('secure hi');
    expect(peers).toEqual([undefined]);
  });

  it('negotiates h2 with ALPN', async () => {
    const port = await serveTls();
    const socket = tls.connect({ host: '127.0.0.1', port, ca: certs.ca, servername: 'localhost', ALPNProtocols: ['h2', 'http/1.1'] });
    await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
    expect(socket.alpnProtocol).toBe('h2');
    socket.destroy();
  });

  it('drops a TLS connection that does not negotiate h2 without waiting', async () => {
    const port = await serveTls();
    const socket = tls.connect({ host: '127.0.0.1', port, ca: certs.ca, servername: 'localhost', ALPNProtocols: ['http/1.1'] });
    socket.on('error', () => undefined);
    // Either the handshake fails or the server closes the connection; it must not linger.
    await new Promise((resolve) => socket.once('close', resolve));
    expect(socket.alpnProtocol === 'h2').toBe(false);
  });

  it('refuses a plaintext grpc-js client', async () => {
    const port = await serveTls();
    expect(await outcome(client(port, grpc.credentials.createInsecure()))).toBe(grpc.status.UNAVAILABLE);
  });

  it('with requireClientCert: serves a client certificate from the CA and shows it on the context', async () => {
    const port = await serveTls({ ca: certs.ca, requireClientCert: true });
    expect(await outcome(client(port, grpc.credentials.createSsl(certs.ca, certs.clientKey, certs.clientCert)))).toBe('secure hi');
    expect(peers).toHaveLength(1);
    expect(peers[0]?.subject.CN).toBe('test-client');
    expect(peers[0]?.subject.O).toBe('grpc tests');
    expect(peers[0]?.issuer.CN).toBe('nestjs-grpc-transport test CA');
  });

  it('with requireClientCert: refuses a client without a certificate, and one whose certificate the CA did not sign', async () => {
    const port = await serveTls({ ca: certs.ca, requireClientCert: true });
    expect(await outcome(client(port, grpc.credentials.createSsl(certs.ca)))).toBe(grpc.status.UNAVAILABLE);
    expect(await outcome(client(port, grpc.credentials.createSsl(certs.ca, certs.rogueKey, certs.rogueCert)))).toBe(grpc.status.UNAVAILABLE);
    expect(peers).toEqual([]);
    // And still serves a good client.
    expect(await outcome(client(port, grpc.credentials.createSsl(certs.ca, certs.clientKey, certs.clientCert)))).toBe('secure hi');
  });

  it('with a CA but certificates optional: shows only a verified certificate on the context', async () => {
    const port = await serveTls({ ca: certs.ca });
    expect(await outcome(client(port, grpc.credentials.createSsl(certs.ca, certs.clientKey, certs.clientCert)))).toBe('secure hi');
    expect(await outcome(client(port, grpc.credentials.createSsl(certs.ca)))).toBe('secure hi');
    // A certificate that does not chain to the CA is not an identity: the handler must not see it.
    expect(await outcome(client(port, grpc.credentials.createSsl(certs.ca, certs.rogueKey, certs.rogueCert)))).toBe('secure hi');
    expect(peers.map((peer) => peer?.subject.CN)).toEqual(['test-client', undefined, undefined]);
  });
});
