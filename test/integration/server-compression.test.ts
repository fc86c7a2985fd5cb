import * as grpc from '@grpc/grpc-js';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import zlib from 'node:zlib';
import protobuf from 'protobufjs';
import { type GrpcContext, Status } from '../../lib/index.js';
import { type ExampleRequest, exampleImplementation } from '../helpers/example-service.js';
import { collect, grpcJsUnary } from '../helpers/grpc-js.js';
import { expectHealthy, Harness } from '../helpers/harness.js';
import { frame, grpcHeaders, grpcStatus, inflateMessage, isTrailersOnly, parseMessages, rawCall } from '../helpers/raw-http2.js';

const root = protobuf.loadSync(path.resolve('protos/example.proto'));
const ExampleRequestType = root.lookupType('nameko.ExampleRequest');
const ExampleReplyType = root.lookupType('nameko.ExampleReply');
const encodeRequest = (value: string, multiplier = 1) =>
  Buffer.from(ExampleRequestType.encode(ExampleRequestType.fromObject({ value, multiplier })).finish());
const decodeReply = (bytes: Buffer) => ExampleReplyType.toObject(ExampleReplyType.decode(bytes)) as { message: string; seqno?: number };

const GZIP = 2;
const DEFLATE = 1;
const LONG = 'compressible '.repeat(500);

/** What a grpc-js client with these options puts on the wire: its grpc-encoding and the flag byte of its first message. */
async function probeGrpcJs(options: grpc.ClientOptions): Promise<{ encoding: unknown; flag: number }> {
  const probe = http2.createServer();
  const seen = new Promise<{ encoding: unknown; flag: number }>((resolve) => {
    probe.on('stream', (stream, headers) => {
      stream.once('data', (chunk: Buffer) => {
        resolve({ encoding: headers['grpc-encoding'], flag: chunk[0] });
        stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '12' }, { endStream: true });
      });
    });
  });
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const Client = grpc.makeGenericClientConstructor({}, 'probe');
  const client = new Client(`127.0.0.1:${(probe.address() as AddressInfo).port}`, grpc.credentials.createInsecure(), options);
  client.makeUnaryRequest('/nameko.example/unary_unary', (b: Buffer) => b, (b: Buffer) => b, encodeRequest(LONG), () => undefined);
  const result = await seen;
  client.close();
  probe.close();
  return result;
}

describe('GrpcServer message compression', () => {
  const harness = new Harness();
  afterEach(() => harness.close());

  it.each([
    ['gzip', GZIP],
    ['deflate', DEFLATE],
  ])('accepts %s-compressed requests from grpc-js in every call pattern', async (name, algorithm) => {
    // The test only means something if grpc-js really compresses with this option.
    expect(await probeGrpcJs({ 'grpc.default_compression_algorithm': algorithm })).toEqual({ encoding: name, flag: 1 });

    const { port } = await harness.serve(exampleImplementation);
    const client = harness.client(port, { 'grpc.default_compression_algorithm': algorithm });
    const { response } = await grpcJsUnary(client, 'unary_unary', { value: LONG, multiplier: 2 });
    expect(response.message).toBe(LONG + LONG);

    const streamed = await collect(client.unary_stream({ value: LONG }));
    expect(streamed.messages.map((m) => m.message)).toEqual([LONG, LONG]);

    const joined = await new Promise<any>((resolve, reject) => {
      const call = client.stream_unary((error: Error | null, value: unknown) => (error ? reject(error) : resolve(value)));
      for (const value of ['a', LONG, 'c']) call.write({ value });
      call.end();
    });
    expect(joined.message).toBe(`a,${LONG},c`);

    const bidi = client.stream_stream();
    const echoed = collect(bidi);
    for (const value of [LONG, 'b']) bidi.write({ value });
    bidi.end();
    expect((await echoed).messages.map((m) => m.message)).toEqual([LONG, 'b']);
  });

  it.each([
    ['gzip', zlib.gzipSync],
    ['deflate', zlib.deflateSync],
  ])('decodes hand-made %s requests, compressed and uncompressed messages mixed on one stream', async (encoding, compress) => {
    const { port } = await harness.serve(exampleImplementation);
    const session = await harness.raw(port);
    const response = await rawCall(session, grpcHeaders('/nameko.example/stream_stream', { 'grpc-encoding': encoding }), [
      frame(compress(encodeRequest('one')), true),
      frame(encodeRequest('two'), false),
      frame(compress(encodeRequest(LONG)), true),
    ]);
    expect(grpcStatus(response)).toBe(Status.OK);
    expect(parseMessages(response.data).map((m) => decodeReply(inflateMessage(m, response.headers['grpc-encoding'] as string)).message)).toEqual([
      'one',
      'two',
      LONG,
    ]);
  });

  it('answers an unknown grpc-encoding with UNIMPLEMENTED, trailers-only, listing grpc-accept-encoding', async () => {
    let ran = false;
    const { port } = await harness.serve({
      ...exampleImplementation,
      unary_stream: () => {
        ran = true;
        return [];
      },
    });
    const session = await harness.raw(port);
    const response = await rawCall(session, grpcHeaders('/nameko.example/unary_stream', { 'grpc-encoding': 'snappy' }), frame(Buffer.from('xx'), true));
    expect(grpcStatus(response)).toBe(Status.UNIMPLEMENTED);
    expect(isTrailersOnly(response)).toBe(true);
    const accepted = String(response.headers['grpc-accept-encoding']).split(',').map((s) => s.trim());
    expect(accepted).toEqual(expect.arrayContaining(['identity', 'gzip', 'deflate']));
    expect(accepted).not.toContain('snappy');
    expect(ran).toBe(false);
    await expectHealthy(harness.client(port));
  });

  it('answers INTERNAL to a compressed flag on a stream without grpc-encoding, and to corrupt compressed data', async () => {
    const { port } = await harness.serve(exampleImplementation);
    const session = await harness.raw(port);
    const flagged = await rawCall(session, grpcHeaders('/nameko.example/unary_unary'), frame(encodeRequest('a'), true));
    expect(grpcStatus(flagged)).toBe(Status.INTERNAL);
    const corrupt = await rawCall(
      session,
      grpcHeaders('/nameko.example/unary_unary', { 'grpc-encoding': 'gzip' }),
      frame(Buffer.from('definitely not gzip'), true),
    );
    expect(grpcStatus(corrupt)).toBe(Status.INTERNAL);
    const ok = await rawCall(session, grpcHeaders('/nameko.example/unary_unary'), frame(encodeRequest('still fine')));
    expect(grpcStatus(ok)).toBe(Status.OK);
    await expectHealthy(harness.client(port));
  });

  it('compresses responses with the server default only when the client listed that encoding', async () => {
    const { port } = await harness.serve(exampleImplementation, { compression: 'gzip' });
    const session = await harness.raw(port);
    const call = (accept: string | undefined) =>
      rawCall(
        session,
        grpcHeaders('/nameko.example/unary_stream', accept === undefined ? {} : { 'grpc-accept-encoding': accept }),
        frame(encodeRequest(LONG)),
      );

    for (const accept of ['identity,deflate,gzip', 'GZIP', 'deflate , gzip']) {
      const response = await call(accept);
      expect(response.headers['grpc-encoding']).toBe('gzip');
      const messages = parseMessages(response.data);
      expect(messages.map((m) => m.compressed)).toEqual([true, true]);
      expect(messages.map((m) => decodeReply(inflateMessage(m, 'gzip')).message)).toEqual([LONG, LONG]);
    }
    for (const accept of [undefined, 'identity', 'deflate', 'br,zstd']) {
      const response = await call(accept);
      expect(response.headers['grpc-encoding']).toBeUndefined();
      expect(parseMessages(response.data).map((m) => m.compressed)).toEqual([false, false]);
      expect(grpcStatus(response)).toBe(Status.OK);
    }

    // grpc-js lists gzip and decodes the compressed replies.
    const { response } = await grpcJsUnary(harness.client(port), 'unary_unary', { value: LONG });
    expect(response.message).toBe(LONG);
  });

  it('applies ctx.setCompression only with an encoding the client listed', async () => {
    const { port } = await harness.serve({
      unary_unary(request: ExampleRequest, ctx: GrpcContext) {
        ctx.setCompression('deflate');
        return { message: request.value };
      },
    });
    const session = await harness.raw(port);
    const refused = await rawCall(
      session,
      grpcHeaders('/nameko.example/unary_unary', { 'grpc-accept-encoding': 'identity,gzip' }),
      frame(encodeRequest(LONG)),
    );
    expect(refused.headers['grpc-encoding']).toBeUndefined();
    expect(parseMessages(refused.data)[0].compressed).toBe(false);
    expect(decodeReply(parseMessages(refused.data)[0].payload).message).toBe(LONG);

    const accepted = await rawCall(
      session,
      grpcHeaders('/nameko.example/unary_unary', { 'grpc-accept-encoding': 'deflate' }),
      frame(encodeRequest(LONG)),
    );
    expect(accepted.headers['grpc-encoding']).toBe('deflate');
    expect(decodeReply(inflateMessage(parseMessages(accepted.data)[0], 'deflate')).message).toBe(LONG);
  });

  it('advertises grpc-accept-encoding on ordinary responses', async () => {
    const { port } = await harness.serve(exampleImplementation);
    const session = await harness.raw(port);
    const response = await rawCall(session, grpcHeaders('/nameko.example/unary_unary'), frame(encodeRequest('a')));
    expect(String(response.headers['grpc-accept-encoding']).split(',')).toEqual(expect.arrayContaining(['identity', 'gzip', 'deflate']));
  });
});
