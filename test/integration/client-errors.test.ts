/**
 * How the client reports failures: GrpcError with the code, the decoded message, rich details
 * from `grpc-status-details-bin` and the trailing metadata (from a grpc-js server), and the
 * protocol core's tables for responses no gRPC server should send (from a raw HTTP/2 server):
 * non-200 HTTP statuses, RST_STREAM codes, missing or invalid grpc-status, broken messages,
 * and messages over the receive or send limit.
 */
import * as grpc from '@grpc/grpc-js';
import type http2 from 'node:http2';
import { concat, lastValueFrom, NEVER, of, toArray } from 'rxjs';
import { encodeRpcStatus, GrpcClient, GrpcError, Status } from '../../lib/index.js';
import { grpcJsExampleImplementation, startGrpcJsServer } from '../helpers/grpc-js.js';
import { deferred } from '../helpers/harness.js';
import { replyFrame, startRawServer, type RawServer } from '../helpers/http2-server.js';
import { frame } from '../helpers/raw-http2.js';
import { typedExampleStub as exampleStub } from '../helpers/typed-example.js';
import { failure } from '../helpers/call-failures.js';

const REQUEST = { value: 'A', multiplier: 1 };
const NON_ASCII = 'Fehler: ünïcödé ✓ 日本語 100% %41 "quoted"\ttab';
const BAD_REQUEST = { typeUrl: 'type.googleapis.com/google.rpc.BadRequest', value: Uint8Array.from([10, 5, 10, 3, 102, 111, 111]) };

describe('errors from a grpc-js server', () => {
  let server: grpc.Server;
  let client: GrpcClient<typeof exampleStub>;
  let target: string;
  let cancelled = deferred();

  beforeAll(async () => {
    const running = await startGrpcJsServer({
      ...grpcJsExampleImplementation,
      unary_unary(call: grpc.ServerUnaryCall<any, any>, callback: grpc.sendUnaryData<any>) {
        const { value, multiplier } = call.request;
        if (value === 'non-ascii') return callback({ code: grpc.status.FAILED_PRECONDITION, details: NON_ASCII });
        if (value === 'details' || value === 'mismatched') {
          const metadata = new grpc.Metadata();
          const code = value === 'details' ? grpc.status.INVALID_ARGUMENT : grpc.status.NOT_FOUND;
          metadata.set('grpc-status-details-bin', Buffer.from(encodeRpcStatus({ code, message: 'bad request', details: [BAD_REQUEST] })));
          metadata.set('x-extra', 'kept');
          return callback({ code: grpc.status.INVALID_ARGUMENT, details: 'bad request', metadata });
        }
        if (value === 'big') {
          call.on('cancelled', () => cancelled.resolve());
          return callback(null, { message: 'x'.repeat(multiplier), seqno: 0 });
        }
        callback(null, { message: value, seqno: 0 });
      },
      unary_stream(call: grpc.ServerWritableStream<any, any>) {
        call.write({ message: 'small', seqno: 1 });
        call.write({ message: 'x'.repeat(call.request.multiplier), seqno: 2 });
        call.end();
      },
    });
    server = running.server;
    target = `127.0.0.1:${running.port}`;
    client = new GrpcClient(target, exampleStub);
  });

  afterAll(() => {
    client.close();
    server.forceShutdown();
  });

  it('a GrpcError carries the code and the decoded non-ASCII message', async () => {
    const error = await failure(client.unary_unary({ value: 'non-ascii', multiplier: 1 }));
    expect(error.code).toBe(Status.FAILED_PRECONDITION);
    expect(error.codeName).toBe('FAILED_PRECONDITION');
    expect(error.message).toBe(NON_ASCII);
    expect(error.details).toEqual([]);
  });

  it('rich details from grpc-status-details-bin, with the rest of the trailing metadata', async () => {
    const error = await failure(client.unary_unary({ value: 'details', multiplier: 1 }));
    expect(error.code).toBe(Status.INVALID_ARGUMENT);
    expect(error.message).toBe('bad request');
    expect(error.details).toHaveLength(1);
    expect(error.details[0].typeUrl).toBe(BAD_REQUEST.typeUrl);
    expect(Buffer.from(error.details[0].value)).toEqual(Buffer.from(BAD_REQUEST.value));
    expect(error.metadata.get('x-extra')).toEqual(['kept']);
  });

  it('details whose code disagrees with grpc-status are dropped', async () => {
    const error = await failure(client.unary_unary({ value: 'mismatched', multiplier: 1 }));
    expect(error.code).toBe(Status.INVALID_ARGUMENT);
    expect(error.details).toEqual([]);
  });

  it('a response over the default 4 MiB receive limit fails RESOURCE_EXHAUSTED and cancels the call', async () => {
    cancelled = deferred();
    const error = await failure(client.unary_unary({ value: 'big', multiplier: 4 * 1024 * 1024 + 1 }));
    expect(error.code).toBe(Status.RESOURCE_EXHAUSTED);
    await cancelled.promise;
    // Just under the limit passes.
    const reply = await client.unary_unary({ value: 'big', multiplier: 4 * 1024 * 1024 - 16 });
    expect(reply.message).toHaveLength(4 * 1024 * 1024 - 16);
  });

  it('maxReceiveMessageSize applies to each streamed message: the small one arrives, the large one fails', async () => {
    const limited = new GrpcClient(target, exampleStub, { maxReceiveMessageSize: 1000 });
    try {
      const received: string[] = [];
      const error = await failure(
        new Promise((resolve, reject) =>
          limited.unary_stream({ value: 'x', multiplier: 2000 }).subscribe({
            next: (reply) => received.push(reply.message),
            error: reject,
            complete: () => resolve(undefined),
          }),
        ),
      );
      expect(error.code).toBe(Status.RESOURCE_EXHAUSTED);
      expect(received).toEqual(['small']);
      await expect(lastValueFrom(limited.unary_stream({ value: 'x', multiplier: 900 }).pipe(toArray()))).resolves.toHaveLength(2);
    } finally {
      limited.close();
    }
  });

  it('a request over maxSendMessageSize fails RESOURCE_EXHAUSTED before it is sent', async () => {
    const limited = new GrpcClient(target, exampleStub, { maxSendMessageSize: 100 });
    try {
      const error = await failure(limited.unary_unary({ value: 'y'.repeat(200), multiplier: 1 }));
      expect(error.code).toBe(Status.RESOURCE_EXHAUSTED);
      await expect(limited.unary_unary({ value: 'y'.repeat(50), multiplier: 1 })).resolves.toEqual({ message: 'y'.repeat(50), seqno: 0 });
      await expect(limited.stream_unary([{ value: 'ok', multiplier: 1 }, { value: 'z'.repeat(200), multiplier: 1 }])).rejects.toMatchObject({
        code: Status.RESOURCE_EXHAUSTED,
      });
    } finally {
      limited.close();
    }
  });
});

type Behaviour = (stream: http2.ServerHttp2Stream) => void;

describe('responses mapped by the protocol tables (raw HTTP/2 server)', () => {
  let raw: RawServer;
  let client: GrpcClient<typeof exampleStub>;
  let behave: Behaviour = () => undefined;

  beforeAll(async () => {
    raw = await startRawServer((stream) => behave(stream));
    client = new GrpcClient(`127.0.0.1:${raw.port}`, exampleStub);
  });

  afterAll(async () => {
    client.close();
    await raw.close();
  });

  it.each([
    [400, Status.INTERNAL],
    [401, Status.UNAUTHENTICATED],
    [403, Status.PERMISSION_DENIED],
    [404, Status.UNIMPLEMENTED],
    [429, Status.UNAVAILABLE],
    [502, Status.UNAVAILABLE],
    [503, Status.UNAVAILABLE],
    [504, Status.UNAVAILABLE],
    [500, Status.UNKNOWN],
  ])('HTTP %i without a grpc-status is %s', async (httpStatus, code) => {
    behave = (stream) => {
      stream.respond({ ':status': httpStatus, 'content-type': 'text/html' });
      stream.end('<html>proxy error</html>');
    };
    const error = await failure(client.unary_unary(REQUEST));
    expect(error.code).toBe(code);
    expect(error.message).toContain(String(httpStatus));
  });

  it('HTTP 503 from a response stream errors the stream UNAVAILABLE', async () => {
    behave = (stream) => stream.respond({ ':status': 503 }, { endStream: true });
    await expect(lastValueFrom(client.unary_stream(REQUEST))).rejects.toMatchObject({ code: Status.UNAVAILABLE });
  });

  it.each([
    ['CANCEL', 0x8, Status.CANCELLED],
    ['ENHANCE_YOUR_CALM', 0xb, Status.RESOURCE_EXHAUSTED],
    ['INADEQUATE_SECURITY', 0xc, Status.PERMISSION_DENIED],
    ['INTERNAL_ERROR', 0x2, Status.INTERNAL],
    ['PROTOCOL_ERROR', 0x1, Status.INTERNAL],
    ['REFUSED_STREAM', 0x7, Status.UNAVAILABLE],
  ])('RST_STREAM(%s) after the response headers is %s', async (_name, rstCode, code) => {
    behave = (stream) => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
      stream.write(replyFrame('partial', 1), () => stream.close(rstCode));
    };
    const received: number[] = [];
    // The request stream stays open: Node's server sends END_STREAM before RST_STREAM, and only
    // a stream the client has not ended yet is still open for the reset to arrive on.
    const requests = concat(of(REQUEST), NEVER);
    const error = await failure(
      new Promise((resolve, reject) =>
        client.stream_stream(requests).subscribe({ next: (reply) => received.push(reply.seqno), error: reject, complete: () => resolve(undefined) }),
      ),
    );
    expect(error.code).toBe(code);
    expect(received).toEqual([1]);
  });

  it('RST_STREAM(INTERNAL_ERROR) before any response is INTERNAL', async () => {
    behave = (stream) => stream.close(0x2);
    expect((await failure(client.unary_unary(REQUEST))).code).toBe(Status.INTERNAL);
  });

  it('RST_STREAM(REFUSED_STREAM) before any response: a unary call is retried on a new stream', async () => {
    let refused = 0;
    const answer = respondThen([replyFrame('second try')], { 'grpc-status': '0' });
    behave = (stream) => (refused++ === 0 ? stream.close(0x7) : answer(stream));
    const before = raw.streams.length;
    await expect(client.unary_unary(REQUEST)).resolves.toEqual({ message: 'second try', seqno: 0 });
    expect(raw.streams.length).toBe(before + 2);
  });

  it('RST_STREAM(REFUSED_STREAM) before any response: a client-streaming call is sent again once (its requests are kept); refused twice, it fails UNAVAILABLE', async () => {
    behave = (stream) => stream.close(0x7);
    const before = raw.streams.length;
    expect((await failure(client.stream_unary([REQUEST, REQUEST]))).code).toBe(Status.UNAVAILABLE);
    expect(raw.streams.length).toBe(before + 2);
  });

  it('trailers without grpc-status are UNKNOWN', async () => {
    behave = respondThen([replyFrame('m')], { 'x-other': 'trailer' });
    expect((await failure(client.unary_unary(REQUEST))).code).toBe(Status.UNKNOWN);
  });

  it('a non-numeric or out-of-range grpc-status is UNKNOWN', async () => {
    behave = respondThen([], { 'grpc-status': 'abc', 'grpc-message': 'strange' });
    expect((await failure(client.unary_unary(REQUEST))).code).toBe(Status.UNKNOWN);
    behave = respondThen([], { 'grpc-status': '99' });
    expect((await failure(client.unary_unary(REQUEST))).code).toBe(Status.UNKNOWN);
  });

  it('a stream ended without trailers is INTERNAL', async () => {
    behave = (stream) => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
      stream.end(replyFrame('no trailers'));
    };
    expect((await failure(client.unary_unary(REQUEST))).code).toBe(Status.INTERNAL);
  });

  it('a trailers-only OK ends a response stream with no messages, and fails a unary call UNIMPLEMENTED', async () => {
    behave = (stream) => stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '0' }, { endStream: true });
    await expect(lastValueFrom(client.unary_stream(REQUEST).pipe(toArray()))).resolves.toEqual([]);
    expect((await failure(client.unary_unary(REQUEST))).code).toBe(Status.UNIMPLEMENTED);
  });

  it('two messages for a unary call are UNIMPLEMENTED', async () => {
    behave = respondThen([replyFrame('one'), replyFrame('two')], { 'grpc-status': '0' });
    expect((await failure(client.unary_unary(REQUEST))).code).toBe(Status.UNIMPLEMENTED);
  });

  it('a unary request over maxSendMessageSize fails RESOURCE_EXHAUSTED without opening a stream', async () => {
    const limited = new GrpcClient(`127.0.0.1:${raw.port}`, exampleStub, { maxSendMessageSize: 10 });
    behave = respondThen([replyFrame('small')], { 'grpc-status': '0' });
    try {
      await expect(limited.unary_unary({ value: 'x', multiplier: 1 })).resolves.toEqual({ message: 'small', seqno: 0 });
      const before = raw.streams.length;
      expect((await failure(limited.unary_unary({ value: 'y'.repeat(50), multiplier: 1 }))).code).toBe(Status.RESOURCE_EXHAUSTED);
      await expect(limited.unary_unary({ value: 'z', multiplier: 1 })).resolves.toEqual({ message: 'small', seqno: 0 });
      expect(raw.streams.length).toBe(before + 1);
    } finally {
      limited.close();
    }
  });

  it('a response that ends inside a message is INTERNAL even with an OK status', async () => {
    const whole = replyFrame('cut short');
    behave = respondThen([whole.subarray(0, whole.length - 3)], { 'grpc-status': '0' });
    const error = await failure(client.unary_unary(REQUEST));
    expect(error.code).toBe(Status.INTERNAL);
    expect(error.message).toContain('truncated');
    await expect(lastValueFrom(client.unary_stream(REQUEST).pipe(toArray()))).rejects.toMatchObject({ code: Status.INTERNAL });
  });

  it('a message that does not parse is INTERNAL', async () => {
    behave = respondThen([frame(Buffer.from([0xff, 0xff, 0xff]))], { 'grpc-status': '0' });
    expect((await failure(client.unary_unary(REQUEST))).code).toBe(Status.INTERNAL);
  });

  it('a message declared longer than the receive limit is refused RESOURCE_EXHAUSTED before it arrives, and the stream is cancelled', async () => {
    const seen = raw.nextStream();
    behave = (stream) => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
      stream.write(frame(Buffer.alloc(0), false, 64 * 1024 * 1024));
    };
    expect((await failure(client.unary_unary(REQUEST))).code).toBe(Status.RESOURCE_EXHAUSTED);
    await expect((await seen).closed).resolves.toBe(0x8);
  });

  it('a compressed message that does not inflate is INTERNAL, even when trailers say OK', async () => {
    behave = respondThen([frame(Buffer.from('not gzip at all'), true)], { 'grpc-status': '0' }, { 'grpc-encoding': 'gzip' });
    expect((await failure(client.unary_unary(REQUEST))).code).toBe(Status.INTERNAL);
    await expect(lastValueFrom(client.unary_stream(REQUEST))).rejects.toMatchObject({ code: Status.INTERNAL });
  });

  it('an unsupported grpc-encoding from the server is INTERNAL', async () => {
    behave = respondThen([frame(Buffer.from('x'), true)], { 'grpc-status': '0' }, { 'grpc-encoding': 'snappy' });
    expect((await failure(client.unary_unary(REQUEST))).code).toBe(Status.INTERNAL);
  });
});

/** A behaviour: 200 response headers (plus `extraHeaders`), the given DATA, then `trailers`. */
function respondThen(data: Buffer[], trailers: http2.OutgoingHttpHeaders, extraHeaders: http2.OutgoingHttpHeaders = {}): Behaviour {
  return (stream) => {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc', ...extraHeaders }, { waitForTrailers: true });
    stream.once('wantTrailers', () => stream.sendTrailers(trailers));
    stream.end(Buffer.concat(data));
  };
}
