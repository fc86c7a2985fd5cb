/**
 * Metadata through the client: request metadata (repeated keys, `-bin` values) arrives at a
 * grpc-js server as sent; the server's initial and trailing metadata are visible on the call
 * object on success, and on GrpcError.metadata on failure.
 */
import * as grpc from '@grpc/grpc-js';
import { lastValueFrom, toArray } from 'rxjs';
import { GrpcClient, GrpcError, Metadata, Status } from '../../lib/index.js';
import { grpcJsExampleImplementation, startGrpcJsServer } from '../helpers/grpc-js.js';
import { deferred, type Deferred } from '../helpers/harness.js';
import { rawValues } from '../helpers/raw-http2.js';
import { startRawServer, type RawServer } from '../helpers/http2-server.js';
import { typedExampleStub as exampleStub } from '../helpers/typed-example.js';

const BINARY_VALUES = [Buffer.from([0, 1, 2, 0xff]), Buffer.from([0xfe]), Buffer.from('héllo ✓', 'utf8')];

/** grpc-js metadata sent by the test server. */
function serverMetadata(entries: Record<string, (string | Buffer)[]>): grpc.Metadata {
  const metadata = new grpc.Metadata();
  for (const [key, values] of Object.entries(entries)) for (const value of values) metadata.add(key, value);
  return metadata;
}

describe('request metadata', () => {
  let server: grpc.Server;
  let client: GrpcClient<typeof exampleStub>;
  let received: Deferred<grpc.Metadata>;

  beforeAll(async () => {
    const running = await startGrpcJsServer({
      ...grpcJsExampleImplementation,
      unary_unary(call: grpc.ServerUnaryCall<any, any>, callback: grpc.sendUnaryData<any>) {
        received.resolve(call.metadata);
        callback(null, { message: 'ok', seqno: 0 });
      },
      stream_stream(call: grpc.ServerDuplexStream<any, any>) {
        received.resolve(call.metadata);
        call.on('data', () => undefined);
        call.on('end', () => call.end());
      },
    });
    server = running.server;
    client = new GrpcClient(`127.0.0.1:${running.port}`, exampleStub);
  });

  beforeEach(() => {
    received = deferred();
  });

  afterAll(() => {
    client.close();
    server.forceShutdown();
  });

  it('ASCII and -bin values, several per key, reach a grpc-js server exactly', async () => {
    const metadata = new Metadata();
    metadata.add('x-single', 'one value');
    metadata.add('x-trace-bin', BINARY_VALUES[0]);
    metadata.add('x-trace-bin', BINARY_VALUES[1]);
    metadata.add('x-trace-bin', BINARY_VALUES[2]);
    metadata.add('x-empty', '');
    metadata.add('x-multi', 'first');
    metadata.add('x-multi', 'second');
    await client.unary_unary({ value: 'A', multiplier: 1 }, { metadata });
    const seen = await received.promise;
    expect(seen.get('x-single')).toEqual(['one value']);
    expect(seen.get('x-trace-bin')).toEqual(BINARY_VALUES);
    expect(seen.get('x-empty')).toEqual(['']);
    // Sent as two header fields (see the wire test below); Node's HTTP/2 server joins repeated
    // ASCII fields with ", " before grpc-js sees them, exactly as for grpc-js's own client.
    expect(seen.get('x-multi')).toEqual(['first, second']);
  });

  it('a plain record with arrays is accepted as metadata, on a streaming call too', async () => {
    await lastValueFrom(
      client.stream_stream([{ value: 'A', multiplier: 1 }], { metadata: { authorization: 'Bearer t', 'x-id-bin': BINARY_VALUES.slice(0, 2) } }),
      { defaultValue: undefined },
    );
    const seen = await received.promise;
    expect(seen.get('authorization')).toEqual(['Bearer t']);
    expect(seen.get('x-id-bin')).toEqual(BINARY_VALUES.slice(0, 2));
  });

  it('the caller\'s Metadata object is not modified by the call', async () => {
    const metadata = new Metadata({ 'x-a': 'b' });
    await client.unary_unary({ value: 'A', multiplier: 1 }, { metadata });
    await received.promise;
    expect(metadata.toJSON()).toEqual({ 'x-a': ['b'] });
  });
});

describe('request metadata on the wire', () => {
  let raw: RawServer;

  beforeAll(async () => {
    raw = await startRawServer((stream) => stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '0' }, { endStream: true }));
  });

  afterAll(() => raw.close());

  it('repeated keys are sent as repeated header fields, -bin as unpadded base64, with the user-agent option', async () => {
    const client = new GrpcClient(`127.0.0.1:${raw.port}`, exampleStub, { userAgent: 'my-agent/1.0' });
    try {
      const seen = raw.nextStream();
      const call = client.call.unary_unary({ value: 'A', multiplier: 1 }, { metadata: [['x-multi', 'a'], ['x-multi', 'b'], ['x-bin', Buffer.from([0xfe])]] });
      await call.status;
      const { rawHeaders } = await seen;
      expect(rawValues(rawHeaders, 'x-multi')).toEqual(['a', 'b']);
      expect(rawValues(rawHeaders, 'x-bin')).toEqual(['/g']);
      expect(rawValues(rawHeaders, 'user-agent')).toEqual(['my-agent/1.0']);
      expect(rawValues(rawHeaders, 'te')).toEqual(['trailers']);
      expect(rawValues(rawHeaders, 'content-type')).toEqual(['application/grpc']);
    } finally {
      client.close();
    }
  });

  it('one call\'s metadata, timeout and compression do not reach the next call of the same method', async () => {
    const client = new GrpcClient(`127.0.0.1:${raw.port}`, exampleStub);
    try {
      const headersOf = async (options: Parameters<typeof client.unary_unary>[1]) => {
        const seen = raw.nextStream();
        await client.call.unary_unary({ value: 'A', multiplier: 1 }, options).status;
        return (await seen).rawHeaders;
      };
      const plain = await headersOf({});
      const dressed = await headersOf({ metadata: { 'x-once': 'yes' }, timeout: 60_000, compression: 'gzip' });
      const after = await headersOf({});
      expect(rawValues(dressed, 'x-once')).toEqual(['yes']);
      expect(rawValues(dressed, 'grpc-timeout')).toHaveLength(1);
      expect(rawValues(dressed, 'grpc-encoding')).toEqual(['gzip']);
      for (const headers of [plain, after]) {
        expect(rawValues(headers, 'x-once')).toEqual([]);
        expect(rawValues(headers, 'grpc-timeout')).toEqual([]);
        expect(rawValues(headers, 'grpc-encoding')).toEqual([]);
        expect(rawValues(headers, ':path')).toEqual(['/nameko.example/unary_unary']);
      }
    } finally {
      client.close();
    }
  });

  it('the default user-agent names this library', async () => {
    const client = new GrpcClient(`127.0.0.1:${raw.port}`, exampleStub);
    try {
      const seen = raw.nextStream();
      await client.call.unary_unary({ value: 'A', multiplier: 1 }).status;
      expect(rawValues((await seen).rawHeaders, 'user-agent')[0]).toMatch(/^nestjs-grpc-transport\/\d+\.\d+\.\d+/);
    } finally {
      client.close();
    }
  });
});

describe('response metadata from a grpc-js server', () => {
  let server: grpc.Server;
  let client: GrpcClient<typeof exampleStub>;

  const initial = () => serverMetadata({ 'x-initial': ['i1', 'i2'], 'x-initial-bin': [BINARY_VALUES[0]] });
  const trailing = () => serverMetadata({ 'x-trailing': ['t1'], 'x-trailing-bin': [BINARY_VALUES[2]] });

  beforeAll(async () => {
    const running = await startGrpcJsServer({
      unary_unary(call: grpc.ServerUnaryCall<any, any>, callback: grpc.sendUnaryData<any>) {
        call.sendMetadata(initial());
        if (call.request.value === 'fail') {
          callback({ code: grpc.status.NOT_FOUND, details: 'no such thing', metadata: trailing() });
        } else {
          callback(null, { message: 'ok', seqno: 0 }, trailing());
        }
      },
      // Fails without sending initial metadata first: a trailers-only response.
      stream_unary(call: grpc.ServerReadableStream<any, any>, callback: grpc.sendUnaryData<any>) {
        call.on('data', () => undefined);
        call.on('end', () => callback({ code: grpc.status.PERMISSION_DENIED, details: 'denied', metadata: trailing() }));
      },
      unary_stream(call: grpc.ServerWritableStream<any, any>) {
        call.sendMetadata(initial());
        call.write({ message: 'one', seqno: 1 });
        if (call.request.value === 'fail') {
          call.emit('error', { code: grpc.status.ABORTED, details: 'stopped', metadata: trailing() });
        } else {
          call.end(trailing());
        }
      },
      stream_stream(call: grpc.ServerDuplexStream<any, any>) {
        call.end();
      },
    });
    server = running.server;
    client = new GrpcClient(`127.0.0.1:${running.port}`, exampleStub);
  });

  afterAll(() => {
    client.close();
    server.forceShutdown();
  });

  it('a unary call object exposes initial and trailing metadata on success', async () => {
    const call = client.call.unary_unary({ value: 'A', multiplier: 1 });
    await expect(call.response).resolves.toEqual({ message: 'ok', seqno: 0 });
    const headers = await call.headers;
    expect(headers.get('x-initial')).toEqual(['i1', 'i2']);
    expect(headers.get('x-initial-bin')).toEqual([BINARY_VALUES[0]]);
    const trailers = await call.trailers;
    expect(trailers.get('x-trailing')).toEqual(['t1']);
    expect(trailers.get('x-trailing-bin')).toEqual([BINARY_VALUES[2]]);
    expect(trailers.has('x-initial')).toBe(false);
    expect(headers.has('x-trailing')).toBe(false);
    const status = await call.status;
    expect(status.code).toBe(Status.OK);
    expect(status.metadata.get('x-trailing')).toEqual(['t1']);
  });

  it('on failure: initial metadata on the call object, trailing metadata on the GrpcError', async () => {
    const call = client.call.unary_unary({ value: 'fail', multiplier: 1 });
    const error = await call.response.catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(GrpcError);
    expect(error).toMatchObject({ code: Status.NOT_FOUND, message: 'no such thing' });
    expect((error as GrpcError).metadata.get('x-trailing')).toEqual(['t1']);
    expect((error as GrpcError).metadata.get('x-trailing-bin')).toEqual([BINARY_VALUES[2]]);
    expect((await call.headers).get('x-initial')).toEqual(['i1', 'i2']);
    expect((await call.trailers).get('x-trailing')).toEqual(['t1']);
  });

  it('the plain method form rejects with the trailing metadata on the GrpcError', async () => {
    const error = await client.unary_unary({ value: 'fail', multiplier: 1 }).catch((failure: unknown) => failure);
    expect((error as GrpcError).metadata.get('x-trailing')).toEqual(['t1']);
  });

  it('a trailers-only failure: no initial metadata, its metadata is trailing', async () => {
    const call = client.call.stream_unary([{ value: 'A', multiplier: 1 }]);
    await expect(call.response).rejects.toMatchObject({ code: Status.PERMISSION_DENIED, message: 'denied' });
    const status = await call.status;
    expect(status.metadata.get('x-trailing')).toEqual(['t1']);
    expect((await call.headers).size).toBe(0);
  });

  it('a response stream: headers, messages and trailers on success', async () => {
    const call = client.call.unary_stream({ value: 'A', multiplier: 1 });
    await expect(lastValueFrom(call.responses.pipe(toArray()))).resolves.toEqual([{ message: 'one', seqno: 1 }]);
    expect((await call.headers).get('x-initial')).toEqual(['i1', 'i2']);
    expect((await call.trailers).get('x-trailing-bin')).toEqual([BINARY_VALUES[2]]);
  });

  it('a response stream that fails after a message: the message, then a GrpcError with trailing metadata', async () => {
    const messages: unknown[] = [];
    const error = await new Promise((resolve) =>
      client.unary_stream({ value: 'fail', multiplier: 1 }).subscribe({ next: (reply) => messages.push(reply), error: resolve, complete: () => resolve(undefined) }),
    );
    expect(messages).toEqual([{ message: 'one', seqno: 1 }]);
    expect(error).toBeInstanceOf(GrpcError);
    expect(error).toMatchObject({ code: Status.ABORTED, message: 'stopped' });
    expect((error as GrpcError).metadata.get('x-trailing')).toEqual(['t1']);
  });
});
