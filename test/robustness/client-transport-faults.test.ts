/**
 * Issue 9, item 8, what client-errors.test.ts and client-connections.test.ts leave out: GOAWAY
 * on an idle connection (NO_ERROR and ENHANCE_YOUR_CALM) without a crash, GOAWAY with an error
 * code while a call is in flight, and garbled responses: a status in headers that do not end the
 * stream (the call used to hang), a non-gRPC content-type, a repeated grpc-status, undecodable
 * details, a malformed grpc-message, a reset with NO_ERROR before the trailers, an unknown
 * RST_STREAM code.
 */
import type http2 from 'node:http2';
import { GrpcClient, type GrpcContext, Status } from '../../lib/index.js';
import { Harness } from '../helpers/harness.js';
import { replyFrame, type RawServer, startRawServer } from '../helpers/http2-server.js';
import { typedExampleStub as exampleStub } from '../helpers/typed-example.js';
import { failure } from '../helpers/call-failures.js';

const REQUEST = { value: 'A', multiplier: 1 };

/** 200 headers, then `data`, then `trailers`. */
function respond(stream: http2.ServerHttp2Stream, data: Buffer[], trailers: http2.OutgoingHttpHeaders, headers: http2.OutgoingHttpHeaders = {}): void {
  stream.respond({ ':status': 200, 'content-type': 'application/grpc', ...headers }, { waitForTrailers: true });
  stream.once('wantTrailers', () => stream.sendTrailers(trailers));
  stream.end(Buffer.concat(data));
}

describe('GOAWAY', () => {
  const harness = new Harness();
  afterEach(() => harness.close());

  it("an idle GOAWAY(NO_ERROR, max_idle) from our server: no error anywhere, the next call opens a new connection", async () => {
    const peers: string[] = [];
    const { port } = await harness.serve(
      {
        unary_unary(_request: unknown, ctx: GrpcContext) {
          peers.push(ctx.peer);
          return { message: 'ok', seqno: 0 };
        },
      },
      { maxConnectionIdleMs: 30 },
    );
    const client = new GrpcClient(`127.0.0.1:${port}`, exampleStub);
    try {
      await client.unary_unary(REQUEST);
      // Calls spaced past the idle limit (bounded loop): each lands on a fresh connection.
      for (let i = 0; i < 3; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        await expect(client.unary_unary(REQUEST)).resolves.toEqual({ message: 'ok', seqno: 0 });
      }
      expect(new Set(peers).size).toBe(4);
    } finally {
      client.close();
    }
  });

  describe('from a raw server', () => {
    let raw: RawServer;
    let behave: (stream: http2.ServerHttp2Stream) => void;
    let client: GrpcClient<typeof exampleStub>;

    beforeEach(async () => {
      behave = (stream) => respond(stream, [replyFrame('ok')], { 'grpc-status': '0' });
      raw = await startRawServer((stream) => behave(stream));
      client = new GrpcClient(`127.0.0.1:${raw.port}`, exampleStub, { backoff: { initialMs: 10, maxMs: 20 } });
    });

    afterEach(async () => {
      client.close();
      await raw.close();
    });

    it('an idle GOAWAY(ENHANCE_YOUR_CALM, too_many_pings) and close: no crash, the next call reconnects', async () => {
      await client.unary_unary(REQUEST);
      const session = raw.sessions[0];
      const gone = new Promise((resolve) => session.once('close', resolve));
      session.goaway(0xb, 0, Buffer.from('too_many_pings'));
      session.destroy(new Error('calm down'), 0xb);
      await gone;
      await expect(client.unary_unary(REQUEST)).resolves.toEqual({ message: 'ok', seqno: 0 });
      expect(raw.sessions).toHaveLength(2);
    });

    it('GOAWAY(INTERNAL_ERROR) with a call in flight fails it UNAVAILABLE; the next call reconnects', async () => {
      behave = (stream) => {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
        stream.write(replyFrame('partial'), () => stream.session?.goaway(0x2));
      };
      const error = await failure(client.unary_unary(REQUEST));
      expect(error.code).toBe(Status.UNAVAILABLE);
      behave = (stream) => respond(stream, [replyFrame('again')], { 'grpc-status': '0' });
      await expect(client.unary_unary(REQUEST)).resolves.toEqual({ message: 'again', seqno: 0 });
    });

    it('a grpc-status in response headers that do not end the stream is INTERNAL (the call used to hang)', async () => {
      behave = (stream) => respond(stream, [replyFrame('after')], { 'grpc-status': '13' }, { 'grpc-status': '0' });
      // The timeout only bounds the test: a hanging call would end DEADLINE_EXCEEDED.
      const error = await failure(client.unary_unary(REQUEST, { timeout: 5000 }));
      expect(error.code).toBe(Status.INTERNAL);
      expect(error.message).toMatch(/do not end the stream/);
    });

    it('HTTP 200 with a non-gRPC content-type (a proxy page) is UNKNOWN naming it, not a message parse failure', async () => {
      behave = (stream) => {
        stream.respond({ ':status': 200, 'content-type': 'text/html; charset=utf-8' });
        stream.end('<html>captive portal</html>');
      };
      const error = await failure(client.unary_unary(REQUEST));
      expect(error.code).toBe(Status.UNKNOWN);
      expect(error.message).toContain('text/html');
    });

    it('a repeated grpc-status in the trailers is UNKNOWN', async () => {
      behave = (stream) => respond(stream, [replyFrame('m')], { 'grpc-status': ['0', '13'] });
      expect((await failure(client.unary_unary(REQUEST))).code).toBe(Status.UNKNOWN);
    });

    it('undecodable grpc-status-details-bin keeps the code and message, without details', async () => {
      behave = (stream) => respond(stream, [], { 'grpc-status': '5', 'grpc-message': 'missing', 'grpc-status-details-bin': 'bm90IGEgcHJvdG8' });
      const error = await failure(client.unary_unary(REQUEST));
      expect([error.code, error.message, error.details]).toEqual([Status.NOT_FOUND, 'missing', []]);
    });

    it('a grpc-message with invalid percent-encoding is kept as sent; a cut UTF-8 sequence becomes U+FFFD', async () => {
      behave = (stream) => respond(stream, [], { 'grpc-status': '5', 'grpc-message': '100%zz %E2%82 end' });
      expect((await failure(client.unary_unary(REQUEST))).message).toBe('100%zz \ufffd end');
    });

    it('RST_STREAM(NO_ERROR) after a message but before the trailers is INTERNAL', async () => {
      behave = (stream) => {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
        stream.write(replyFrame('m'), () => stream.close(0x0));
      };
      expect((await failure(client.unary_unary(REQUEST))).code).toBe(Status.INTERNAL);
    });

    it('an RST_STREAM code HTTP/2 does not define is INTERNAL', async () => {
      behave = (stream) => stream.close(0xff);
      expect((await failure(client.unary_unary(REQUEST))).code).toBe(Status.INTERNAL);
    });
  });
});
