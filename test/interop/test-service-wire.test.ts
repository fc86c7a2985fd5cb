import type http2 from 'node:http2';
import zlib from 'node:zlib';
import { toServiceDescriptor } from '../../lib/index.js';
import { TestServiceStub } from '../../interop/generated/grpc.testing.js';
import type { TestServer } from '../../interop/test-service.js';
import { startOurTestServer } from '../helpers/interop.js';
import { connectRaw, frame, grpcHeaders, grpcMessage, grpcStatus, inflateMessage, parseMessages, rawCall } from '../helpers/raw-http2.js';

/**
 * Our TestService's compression features seen on the wire, where neither client library can look:
 * the compressed flag of each response, and the expect_compressed check of each request.
 */
describe('interop TestService compression on the wire', () => {
  const methods = toServiceDescriptor(TestServiceStub).methods;
  let server: TestServer;
  let session: http2.ClientHttp2Session;

  beforeAll(async () => {
    server = await startOurTestServer(false);
    session = await connectRaw(server.port);
  });

  afterAll(async () => {
    session?.destroy();
    await server?.close();
  });

  const accepting = { 'grpc-accept-encoding': 'identity,deflate,gzip' };
  /** A request's bytes; the tests leave out fields, as proto3 allows. */
  const encode = (method: 'UnaryCall' | 'StreamingOutputCall' | 'StreamingInputCall', value: object) => Buffer.from(methods[method].serializeRequest(value as never));

  it.each([true, false])('UnaryCall with response_compressed %s sets the compressed flag accordingly', async (compressed) => {
    const request = encode('UnaryCall', { response_size: 314159, response_compressed: { value: compressed } });
    const response = await rawCall(session, grpcHeaders('/grpc.testing.TestService/UnaryCall', accepting), frame(request));
    expect(grpcStatus(response)).toBe(0);
    const messages = parseMessages(response.data);
    expect(messages.map((message) => message.compressed)).toEqual([compressed]);
    const encoding = response.headers['grpc-encoding'] as string | undefined;
    if (compressed) expect(encoding).toBe('gzip');
    const reply = methods.UnaryCall.deserializeResponse(inflateMessage(messages[0], encoding));
    expect(reply.payload?.body.length).toBe(314159);
  });

  it('StreamingOutputCall compresses each response as its compressed parameter asks', async () => {
    const request = encode('StreamingOutputCall', {
      response_parameters: [
        { size: 31415, compressed: { value: true } },
        { size: 92653, compressed: { value: false } },
        { size: 100, compressed: { value: true } },
      ],
    });
    const response = await rawCall(session, grpcHeaders('/grpc.testing.TestService/StreamingOutputCall', accepting), frame(request));
    expect(grpcStatus(response)).toBe(0);
    const messages = parseMessages(response.data);
    expect(messages.map((message) => message.compressed)).toEqual([true, false, true]);
    const sizes = messages.map((message) => methods.StreamingOutputCall.deserializeResponse(inflateMessage(message, response.headers['grpc-encoding'] as string)).payload?.body.length);
    expect(sizes).toEqual([31415, 92653, 100]);
  });

  it('refuses, INVALID_ARGUMENT, a request with expect_compressed sent uncompressed on a gzip call', async () => {
    const request = encode('UnaryCall', { expect_compressed: { value: true } });
    const response = await rawCall(session, grpcHeaders('/grpc.testing.TestService/UnaryCall', { 'grpc-encoding': 'gzip' }), frame(request, false));
    expect(grpcStatus(response)).toBe(3);
    expect(grpcMessage(response)).toMatch(/compressed/);
  });

  it('refuses a request marked expect_compressed false that arrived compressed, and accepts each as marked', async () => {
    const path = '/grpc.testing.TestService/StreamingInputCall';
    const message = (expected: boolean) => encode('StreamingInputCall', { expect_compressed: { value: expected }, payload: { body: Buffer.alloc(10) } });
    const wrong = await rawCall(session, grpcHeaders(path, { 'grpc-encoding': 'gzip' }), frame(zlib.gzipSync(message(false)), true));
    expect(grpcStatus(wrong)).toBe(3);
    const right = await rawCall(session, grpcHeaders(path, { 'grpc-encoding': 'gzip' }), [frame(zlib.gzipSync(message(true)), true), frame(message(false), false)]);
    expect(grpcStatus(right)).toBe(0);
    expect(methods.StreamingInputCall.deserializeResponse(parseMessages(right.data)[0].payload)).toEqual({ aggregated_payload_size: 20 });
  });
});
