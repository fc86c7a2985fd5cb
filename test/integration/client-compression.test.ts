/**
 * Compression through the client: the client-wide and per-call `compression` options compress
 * requests that a grpc-js server decodes (and that are compressed on the wire), and compressed
 * responses are read (and bounded by the receive limit after inflation).
 */
import type * as grpc from '@grpc/grpc-js';
import { lastValueFrom, toArray } from 'rxjs';
import path from 'node:path';
import zlib from 'node:zlib';
import protobuf from 'protobufjs';
import { type Encoding, GrpcClient, GrpcServer, Status, wasCompressed } from '../../lib/index.js';
import { exampleImplementation } from '../helpers/example-service.js';
import { grpcJsExampleImplementation, startGrpcJsServer } from '../helpers/grpc-js.js';
import { startRawServer, type RawServer } from '../helpers/http2-server.js';
import { frame, inflateMessage, parseMessages } from '../helpers/raw-http2.js';
import { typedExampleStub as exampleStub } from '../helpers/typed-example.js';

const LONG = 'compressible '.repeat(500);

describe('request compression reaches a grpc-js server', () => {
  let server: grpc.Server;
  let target: string;

  beforeAll(async () => {
    const running = await startGrpcJsServer({
      ...grpcJsExampleImplementation,
      unary_unary(call: grpc.ServerUnaryCall<any, any>, callback: grpc.sendUnaryData<any>) {
        callback(null, { message: call.request.value, seqno: call.request.multiplier });
      },
    });
    server = running.server;
    target = `127.0.0.1:${running.port}`;
  });

  afterAll(() => server.forceShutdown());

  it.each(['gzip', 'deflate'] as const)('client option compression %s: grpc-js decodes every pattern', async (compression) => {
    const client = new GrpcClient(target, exampleStub, { compression });
    try {
      await expect(client.unary_unary({ value: LONG, multiplier: 7 })).resolves.toEqual({ message: LONG, seqno: 7 });
      await expect(client.stream_unary([{ value: LONG, multiplier: 1 }, { value: 'b', multiplier: 2 }])).resolves.toEqual({
        message: `${LONG},bb`,
        seqno: 0,
      });
      const replies = await lastValueFrom(client.stream_stream([{ value: LONG, multiplier: 1 }, { value: 'z', multiplier: 1 }]).pipe(toArray()));
      expect(replies.map((reply) => reply.message)).toEqual([LONG, 'z']);
      await expect(lastValueFrom(client.unary_stream({ value: LONG, multiplier: 1 }).pipe(toArray()))).resolves.toHaveLength(2);
    } finally {
      client.close();
    }
  });

  it('per-call compression overrides the client default both ways', async () => {
    const plain = new GrpcClient(target, exampleStub);
    const gzipped = new GrpcClient(target, exampleStub, { compression: 'gzip' });
    try {
      await expect(plain.unary_unary({ value: LONG, multiplier: 1 }, { compression: 'deflate' })).resolves.toEqual({ message: LONG, seqno: 1 });
      await expect(gzipped.unary_unary({ value: LONG, multiplier: 2 }, { compression: 'identity' })).resolves.toEqual({ message: LONG, seqno: 2 });
    } finally {
      plain.close();
      gzipped.close();
    }
  });
});

describe('request compression on the wire', () => {
  let raw: RawServer;

  beforeAll(async () => {
    // Reads the whole request, then answers UNIMPLEMENTED.
    raw = await startRawServer((stream) => {
      stream.resume();
      stream.on('end', () => stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '12' }, { endStream: true }));
    });
  });

  afterAll(() => raw.close());

  /** The grpc-encoding and the messages of the next request the raw server receives. */
  async function capture(send: () => Promise<unknown>): Promise<{ encoding: string | undefined; messages: { compressed: boolean; text: string }[] }> {
    const seen = raw.nextStream();
    const chunks: Buffer[] = [];
    const received = seen.then(
      ({ stream }) =>
        new Promise<void>((resolve) => {
          stream.on('data', (chunk: Buffer) => chunks.push(chunk));
          stream.on('end', () => resolve());
        }),
    );
    await send().catch(() => undefined);
    const { headers } = await seen;
    await received;
    const encoding = headers['grpc-encoding'] as string | undefined;
    const messages = parseMessages(Buffer.concat(chunks)).map((message) => ({
      compressed: message.compressed,
      text: inflateMessage(message, encoding).toString('latin1'),
    }));
    return { encoding, messages };
  }

  it.each(['gzip', 'deflate'] as Encoding[])('%s: grpc-encoding is sent and each message is flagged compressed', async (compression) => {
    const client = new GrpcClient(`127.0.0.1:${raw.port}`, exampleStub, { compression });
    try {
      const { encoding, messages } = await capture(() => client.stream_unary([{ value: LONG, multiplier: 1 }, { value: 'second', multiplier: 1 }]));
      expect(encoding).toBe(compression);
      expect(messages.map((message) => message.compressed)).toEqual([true, true]);
      expect(messages[0].text).toContain(LONG);
      expect(messages[1].text).toContain('second');
    } finally {
      client.close();
    }
  });

  it('identity (the default) sends no grpc-encoding and uncompressed messages', async () => {
    const client = new GrpcClient(`127.0.0.1:${raw.port}`, exampleStub);
    try {
      const { encoding, messages } = await capture(() => client.unary_unary({ value: LONG, multiplier: 1 }));
      expect(encoding).toBeUndefined();
      expect(messages.map((message) => message.compressed)).toEqual([false]);
    } finally {
      client.close();
    }
  });

  it('the client advertises the encodings it accepts', async () => {
    const client = new GrpcClient(`127.0.0.1:${raw.port}`, exampleStub);
    try {
      const seen = raw.nextStream();
      await client.unary_unary({ value: 'a', multiplier: 1 }).catch(() => undefined);
      const accepted = String((await seen).headers['grpc-accept-encoding']).split(',').map((name) => name.trim());
      expect(accepted).toEqual(expect.arrayContaining(['identity', 'gzip', 'deflate']));
    } finally {
      client.close();
    }
  });
});

// @grpc/grpc-js 1.14's server never compresses a response (its serializeMessage always writes
// the flag 0, whatever 'grpc.default_compression_algorithm' says), so compressed responses come
// from our GrpcServer and from a raw HTTP/2 server compressing with node:zlib.
describe.each(['gzip', 'deflate'] as const)('compressed responses (%s)', (name) => {
  it('from a raw server compressing with node:zlib are read, compressed and uncompressed messages mixed', async () => {
    const compress = (bytes: Buffer) => (name === 'gzip' ? zlib.gzipSync(bytes) : zlib.deflateSync(bytes));
    const raw = await startRawServer((stream) => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-encoding': name }, { waitForTrailers: true });
      stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(Buffer.concat([frame(compress(replyBytes(LONG, 1)), true), frame(replyBytes('plain', 2), false), frame(compress(replyBytes('c', 3)), true)]));
    });
    const client = new GrpcClient(`127.0.0.1:${raw.port}`, exampleStub);
    try {
      const replies = await lastValueFrom(client.unary_stream({ value: 'a', multiplier: 1 }).pipe(toArray()));
      expect(replies).toEqual([
        { message: LONG, seqno: 1 },
        { message: 'plain', seqno: 2 },
        { message: 'c', seqno: 3 },
      ]);
      expect(replies.map((message) => wasCompressed(message))).toEqual([true, false, true]);
    } finally {
      client.close();
      await raw.close();
    }
  });

  it('from our GrpcServer with compression are read', async () => {
    const server = new GrpcServer({ compression: name });
    server.addService(exampleStub, exampleImplementation);
    const client = new GrpcClient(`127.0.0.1:${await server.listen('127.0.0.1:0')}`, exampleStub);
    try {
      const replies = await lastValueFrom(client.unary_stream({ value: LONG, multiplier: 1 }).pipe(toArray()));
      expect(replies).toEqual([
        { message: LONG, seqno: 1 },
        { message: LONG, seqno: 2 },
      ]);
      expect(replies.every((message) => wasCompressed(message))).toBe(true);
      const reply = await client.unary_unary({ value: LONG, multiplier: 1 }, { compression: name });
      expect(wasCompressed(reply)).toBe(true);
    } finally {
      client.close();
      server.forceShutdown();
    }
  });

  it('a compressed response over the receive limit after inflation fails RESOURCE_EXHAUSTED', async () => {
    const server = new GrpcServer({ compression: name });
    server.addService(exampleStub, exampleImplementation);
    const client = new GrpcClient(`127.0.0.1:${await server.listen('127.0.0.1:0')}`, exampleStub, { maxReceiveMessageSize: 64 * 1024 });
    try {
      // 1 MiB of one letter compresses to about a kilobyte: the limit applies to the inflated size.
      await expect(client.unary_unary({ value: 'x', multiplier: 1024 * 1024 })).rejects.toMatchObject({ code: Status.RESOURCE_EXHAUSTED });
      await expect(client.unary_unary({ value: 'x', multiplier: 1024 })).resolves.toMatchObject({ seqno: 0 });
    } finally {
      client.close();
      server.forceShutdown();
    }
  });
});

const ReplyType = protobuf.loadSync(path.resolve('protos/example.proto')).lookupType('nameko.ExampleReply');

/** A serialized nameko.ExampleReply. */
function replyBytes(message: string, seqno: number): Buffer {
  return Buffer.from(ReplyType.encode({ message, seqno }).finish());
}
