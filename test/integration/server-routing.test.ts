import * as grpc from '@grpc/grpc-js';
import type http2 from 'node:http2';
import path from 'node:path';
import protobuf from 'protobufjs';
import { Status } from '../../lib/index.js';
import { exampleImplementation } from '../helpers/example-service.js';
import { expectHealthy, type ExampleClient, Harness } from '../helpers/harness.js';
import { frame, grpcHeaders, grpcMessage, grpcStatus, isTrailersOnly, parseMessages, rawCall, type RawResponse } from '../helpers/raw-http2.js';

const root = protobuf.loadSync(path.resolve('protos/example.proto'));
const ExampleRequestType = root.lookupType('nameko.ExampleRequest');
const ExampleReplyType = root.lookupType('nameko.ExampleReply');
const encodeRequest = (value: string) => Buffer.from(ExampleRequestType.encode(ExampleRequestType.fromObject({ value })).finish());

/** A grpc-js unary call to any path with raw bytes, resolving with the error (or null). */
function genericCall(client: grpc.Client, path: string, body: Buffer): Promise<grpc.ServiceError | null> {
  return new Promise((resolve) =>
    client.makeUnaryRequest(
      path,
      (b: Buffer) => b,
      (b: Buffer) => b,
      body,
      (error) => resolve(error),
    ),
  );
}

describe('GrpcServer routing and request validation', () => {
  // One server, client and connection for the whole file: each refusal must leave them all working.
  const harness = new Harness();
  afterAll(() => harness.close());

  let port: number;
  let client: ExampleClient;
  let session: http2.ClientHttp2Session;
  let handlerRuns = 0;

  beforeEach(() => {
    handlerRuns = 0;
  });

  beforeAll(async () => {
    const counted = (name: keyof typeof exampleImplementation) => (...args: unknown[]) => {
      handlerRuns++;
      return (exampleImplementation[name] as (...a: unknown[]) => unknown)(...args);
    };
    // stream_stream is left out: an RPC in the stub without a handler.
    ({ port } = await harness.serve({
      unary_unary: counted('unary_unary'),
      unary_stream: counted('unary_stream'),
      stream_unary: counted('stream_unary'),
    }));
    client = harness.client(port);
    session = await harness.raw(port);
  });

  /** After a refusal both the connection it came on and a fresh grpc-js client still work. */
  async function expectStillServing(): Promise<void> {
    const ok = await rawCall(session, grpcHeaders('/nameko.example/unary_unary'), frame(encodeRequest('same connection')));
    expect(grpcStatus(ok)).toBe(Status.OK);
    expect(ExampleReplyType.toObject(ExampleReplyType.decode(parseMessages(ok.data)[0].payload)).message).toBe('same connection');
    await expectHealthy(client);
  }

  function expectGrpcRefusal(response: RawResponse, code: Status): void {
    expect(response.headers[':status']).toBe(200);
    expect(response.headers['content-type']).toBe('application/grpc');
    expect(grpcStatus(response)).toBe(code);
    expect(isTrailersOnly(response)).toBe(true);
  }

  it('answers an unknown service with UNIMPLEMENTED, trailers-only', async () => {
    const error = await genericCall(client, '/nameko.nosuch/unary_unary', encodeRequest('a'));
    expect(error?.code).toBe(grpc.status.UNIMPLEMENTED);
    expect(error?.details).toContain('nameko.nosuch');
    const raw = await rawCall(session, grpcHeaders('/nameko.nosuch/unary_unary'), frame(encodeRequest('a')));
    expectGrpcRefusal(raw, Status.UNIMPLEMENTED);
    await expectStillServing();
  });

  it('answers an unknown method, and a stub method without a handler, with UNIMPLEMENTED', async () => {
    const unknown = await genericCall(client, '/nameko.example/no_such_method', encodeRequest('a'));
    expect(unknown?.code).toBe(grpc.status.UNIMPLEMENTED);
    expect(unknown?.details).toContain('no_such_method');
    const unserved = client.stream_stream();
    const status = await new Promise<grpc.StatusObject>((resolve) => {
      unserved.on('error', () => undefined);
      unserved.on('status', resolve);
      unserved.end();
    });
    expect(status.code).toBe(grpc.status.UNIMPLEMENTED);
    const raw = await rawCall(session, grpcHeaders('/nameko.example/stream_stream'), frame(encodeRequest('a')));
    expectGrpcRefusal(raw, Status.UNIMPLEMENTED);
    await expectStillServing();
  });

  it.each(['/', '/nameko.example', '/nameko.example/unary_unary/extra', '//unary_unary', '/nameko.example/'])(
    'answers a malformed path %j with UNIMPLEMENTED',
    async (badPath) => {
      const raw = await rawCall(session, grpcHeaders(badPath), frame(encodeRequest('a')));
      expectGrpcRefusal(raw, Status.UNIMPLEMENTED);
      await expectStillServing();
    },
  );

  it.each(['GET', 'PUT', 'DELETE'])('answers %s with HTTP 405', async (method) => {
    const headers = grpcHeaders('/nameko.example/unary_unary', { ':method': method });
    const raw = await rawCall(session, headers, method === 'GET' ? [] : frame(encodeRequest('a')));
    expect(raw.headers[':status']).toBe(405);
    expect(handlerRuns).toBe(0);
    await expectStillServing();
  });

  it.each([['text/plain'], ['application/json'], ['application/grpc-web'], [undefined]])(
    'answers content-type %j with HTTP 415',
    async (contentType) => {
      const headers = grpcHeaders('/nameko.example/unary_unary');
      if (contentType === undefined) delete headers['content-type'];
      else headers['content-type'] = contentType;
      const raw = await rawCall(session, headers, frame(encodeRequest('a')));
      expect(raw.headers[':status']).toBe(415);
      expect(handlerRuns).toBe(0);
      await expectStillServing();
    },
  );

  it.each(['application/grpc+proto', 'application/grpc; charset=utf-8', 'Application/GRPC'])('accepts content-type %j', async (contentType) => {
    const raw = await rawCall(session, grpcHeaders('/nameko.example/unary_unary', { 'content-type': contentType }), frame(encodeRequest('a')));
    expect(grpcStatus(raw)).toBe(Status.OK);
  });

  it.each([
    ['unary_unary', 2],
    ['unary_unary', 0],
    ['unary_stream', 2],
    ['unary_stream', 0],
  ])('answers %s with %i request messages with UNIMPLEMENTED, without running the handler', async (method, count) => {
    const body = Array.from({ length: count }, (_, i) => frame(encodeRequest(`m${i}`)));
    const raw = await rawCall(session, grpcHeaders(`/nameko.example/${method}`), body);
    expectGrpcRefusal(raw, Status.UNIMPLEMENTED);
    expect(handlerRuns).toBe(0);
    await expectStillServing();
  });

  it.each([
    ['a length-delimited field overrunning the message', Buffer.from([0x0a, 0x05, 0x41])],
    ['an invalid wire type', Buffer.from([0x0f, 0x00])],
    ['a field number of zero', Buffer.from([0x00, 0x01])],
    ['an unterminated varint', Buffer.from([0x10, 0xff, 0xff])],
  ])('answers an undecodable request (%s) with INTERNAL', async (_name, payload) => {
    for (const method of ['unary_unary', 'stream_unary']) {
      const raw = await rawCall(session, grpcHeaders(`/nameko.example/${method}`), frame(payload));
      expect(grpcStatus(raw)).toBe(Status.INTERNAL);
    }
    const viaGrpcJs = await genericCall(client, '/nameko.example/unary_unary', payload);
    expect(viaGrpcJs?.code).toBe(grpc.status.INTERNAL);
    await expectStillServing();
  });

  it.each([
    ['a partial prefix', Buffer.from([0, 0, 0])],
    ['a body shorter than its declared length', frame(encodeRequest('abc'), false, 100)],
    ['a whole message followed by a partial one', Buffer.concat([frame(encodeRequest('a')), Buffer.from([0, 0, 0, 0, 9, 1])])],
  ])('answers a truncated request (%s) with INTERNAL', async (_name, body) => {
    for (const method of ['unary_unary', 'stream_unary']) {
      const raw = await rawCall(session, grpcHeaders(`/nameko.example/${method}`), body);
      expect(grpcStatus(raw)).toBe(Status.INTERNAL);
      expect(grpcMessage(raw)).toMatch(/truncated/i);
    }
    await expectStillServing();
  });

  it('answers a compressed-flag byte other than 0 or 1 with INTERNAL', async () => {
    const bad = frame(encodeRequest('a'));
    bad[0] = 2;
    const raw = await rawCall(session, grpcHeaders('/nameko.example/unary_unary'), bad);
    expect(grpcStatus(raw)).toBe(Status.INTERNAL);
    await expectStillServing();
  });

  it('ignores te: trailers being absent, and any :authority', async () => {
    const headers = grpcHeaders('/nameko.example/unary_unary', { ':authority': 'elsewhere.example:1' });
    delete headers.te;
    const raw = await rawCall(session, headers, frame(encodeRequest('a')));
    expect(grpcStatus(raw)).toBe(Status.OK);
  });
});
