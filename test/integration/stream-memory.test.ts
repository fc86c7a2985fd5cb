import http2 from 'node:http2';
import { GrpcServer } from '../../lib/index.js';
import { exampleStub } from '../../sample/generated/nameko.js';
import { forceGc } from '../helpers/memory.js';

const MiB = 1024 * 1024;
const MESSAGES = 100_000;

describe('a long stream from a generator', () => {
  it('keeps no memory per message streamed (heap measured inside the call, after a full GC)', async () => {
    let grewDuringStream: number | undefined;
    const server = new GrpcServer();
    server.addService(exampleStub, {
      *unary_stream() {
        forceGc();
        const before = process.memoryUsage().heapUsed;
        for (let seqno = 0; seqno < MESSAGES; seqno++) yield { message: '0123456789', seqno };
        forceGc();
        grewDuringStream = process.memoryUsage().heapUsed - before;
      },
    });
    const port = await server.listen('127.0.0.1:0');
    const session = http2.connect(`http://127.0.0.1:${port}`);
    try {
      await new Promise<void>((resolve, reject) => {
        const request = session.request({ ':method': 'POST', ':path': '/nameko.example/unary_stream', 'content-type': 'application/grpc', te: 'trailers' });
        request.on('data', () => undefined);
        request.on('error', reject);
        request.on('close', () => resolve());
        request.end(Buffer.from([0, 0, 0, 0, 3, 0x0a, 0x01, 0x73]));
      });
    } finally {
      session.close();
      await server.shutdown();
    }
    expect(grewDuringStream).toBeDefined();
    // Each message retained until the call ended cost ~540 bytes (~50 MiB here) before the fix.
    expect((grewDuringStream as number) / MiB).toBeLessThan(8);
  });
});

describe('an endless synchronous generator', () => {
  it('is read in bursts yet stopped when the client cancels', async () => {
    let resolveStopped: (count: number) => void = () => undefined;
    const stopped = new Promise<number>((resolve) => (resolveStopped = resolve));
    const server = new GrpcServer();
    server.addService(exampleStub, {
      *unary_stream() {
        let seqno = 0;
        try {
          for (;;) yield { message: 'tick', seqno: seqno++ };
        } finally {
          resolveStopped(seqno);
        }
      },
    });
    const port = await server.listen('127.0.0.1:0');
    const session = http2.connect(`http://127.0.0.1:${port}`);
    try {
      const request = session.request({ ':method': 'POST', ':path': '/nameko.example/unary_stream', 'content-type': 'application/grpc', te: 'trailers' });
      request.on('error', () => undefined);
      request.end(Buffer.from([0, 0, 0, 0, 3, 0x0a, 0x01, 0x73]));
      await new Promise((resolve) => request.once('data', resolve));
      request.close(http2.constants.NGHTTP2_CANCEL);
      expect(await stopped).toBeGreaterThan(0);
    } finally {
      session.close();
      await server.shutdown();
    }
  });
});
