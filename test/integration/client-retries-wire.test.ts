/**
 * Retries as the wire shows them: server pushback (`grpc-retry-pushback-ms`) waited for exactly,
 * or stopping retries when negative or unparseable; the deadline across all attempts (each
 * attempt's grpc-timeout is what is left); cancellation during a backoff; the
 * `grpc-previous-rpc-attempts` header a @grpc/grpc-js server sees; transparent retries of a
 * refused stream for all four patterns and of a bidi stream above a GOAWAY's last-stream-id,
 * requests included; and the same attempt counts as a
 * @grpc/grpc-js client given the same service config.
 */
import * as grpc from '@grpc/grpc-js';
import type http2 from 'node:http2';
import { lastValueFrom, toArray } from 'rxjs';
import { GrpcClient, GrpcError, GrpcServer, Status, type ServiceConfig } from '../../lib/index.js';
import { exampleStub } from '../helpers/example-service.js';
import { FlakyService } from '../helpers/flaky-service.js';
import { exampleGrpcJsClient, grpcJsUnary, startGrpcJsServer } from '../helpers/grpc-js.js';
import { replyFrame, startRawServer, type RawServer } from '../helpers/http2-server.js';
import { parseMessages } from '../helpers/raw-http2.js';
import { typedExampleStub } from '../helpers/typed-example.js';
import { failure, grpcTimeoutMs as timeoutMs } from '../helpers/call-failures.js';

const R = (value: string) => ({ value, multiplier: 1 });
const REFUSED_STREAM = 0x7;

function config(maxAttempts = 5, initialBackoff = '0.001s'): ServiceConfig {
  return {
    methodConfig: [{ name: [{ service: 'nameko.example' }], retryPolicy: { maxAttempts, initialBackoff, maxBackoff: '0.01s', backoffMultiplier: 2, retryableStatusCodes: ['UNAVAILABLE'] } }],
  };
}

/** Trailers-Only UNAVAILABLE, with a pushback trailer when given. */
function unavailable(stream: http2.ServerHttp2Stream, pushback?: string): void {
  const headers: http2.OutgoingHttpHeaders = { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '14', 'grpc-message': 'busy' };
  if (pushback !== undefined) headers['grpc-retry-pushback-ms'] = pushback;
  stream.respond(headers, { endStream: true });
}

/** Answers OK with one reply once the request stream ends. */
function reply(stream: http2.ServerHttp2Stream, message = 'ok'): void {
  stream.resume();
  stream.on('end', () => {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    stream.end(replyFrame(message));
  });
}

describe('pushback, deadlines and cancellation (raw HTTP/2 server)', () => {
  let raw: RawServer;
  let behave: (stream: http2.ServerHttp2Stream, index: number) => void;
  let client: GrpcClient<typeof typedExampleStub>;
  const arrivals: number[] = [];

  beforeAll(async () => {
    raw = await startRawServer((stream) => {
      arrivals.push(performance.now());
      behave(stream, arrivals.length);
    });
  });

  beforeEach(() => {
    arrivals.length = 0;
    client = new GrpcClient(`127.0.0.1:${raw.port}`, typedExampleStub, { serviceConfig: config() });
  });

  afterEach(() => client.close());
  afterAll(() => raw.close());

  it('a pushback of 300 ms is waited for (the policy backoff is 1 ms), and the retry says it is the second attempt', async () => {
    behave = (stream, n) => (n === 1 ? unavailable(stream, '300') : reply(stream, 'second'));
    const before = raw.streams.length;
    await expect(client.unary_unary(R('a'))).resolves.toEqual({ message: 'second', seqno: 0 });
    expect(arrivals).toHaveLength(2);
    expect(arrivals[1] - arrivals[0]).toBeGreaterThanOrEqual(290);
    expect(raw.streams[before].headers['grpc-previous-rpc-attempts']).toBeUndefined();
    expect(raw.streams[before + 1].headers['grpc-previous-rpc-attempts']).toBe('1');
  });

  it.each(['-1', 'soon', '1.5', '99999999999'])('a pushback of %j stops retries: one attempt, its status', async (pushback) => {
    behave = (stream) => unavailable(stream, pushback);
    const error = await failure(client.unary_unary(R('a')));
    expect(error.code).toBe(Status.UNAVAILABLE);
    expect(error.message).toBe('busy');
    expect(arrivals).toHaveLength(1);
  });

  it('the deadline covers every attempt: no retry starts after it, each attempt is sent the time left', async () => {
    behave = (stream) => unavailable(stream, '150');
    const before = raw.streams.length;
    const started = performance.now();
    const error = await failure(client.unary_unary(R('a'), { timeout: 400 }));
    const elapsed = performance.now() - started;
    expect(error.code).toBe(Status.DEADLINE_EXCEEDED);
    expect(elapsed).toBeGreaterThanOrEqual(390);
    expect(elapsed).toBeLessThan(2000);
    // Attempts at about 0, 150 and 300 ms (fewer on a slow machine), never one after 400 ms.
    expect(arrivals.length).toBeGreaterThanOrEqual(2);
    expect(arrivals.length).toBeLessThanOrEqual(3);
    expect(arrivals[arrivals.length - 1] - started).toBeLessThan(400);
    const sent = raw.streams.slice(before).map((seen) => timeoutMs(String(seen.headers['grpc-timeout'])));
    expect(sent[0]).toBeLessThanOrEqual(400);
    expect(sent[1]).toBeLessThanOrEqual(400 - 140);
  });

  it('the method config timeout is a deadline across attempts too', async () => {
    client.close();
    client = new GrpcClient(`127.0.0.1:${raw.port}`, typedExampleStub, { serviceConfig: { methodConfig: [{ ...config().methodConfig![0], timeout: '0.3s' }] } });
    behave = (stream) => unavailable(stream, '100');
    expect((await failure(client.unary_unary(R('a')))).code).toBe(Status.DEADLINE_EXCEEDED);
    expect(arrivals.length).toBeGreaterThanOrEqual(2);
    expect(arrivals.length).toBeLessThanOrEqual(3);
  });

  it('cancelling during the backoff ends the call CANCELLED at once, and no retry is sent', async () => {
    behave = (stream) => unavailable(stream, '10000');
    const seen = raw.nextStream();
    const call = client.call.unary_unary(R('a'));
    await (await seen).closed;
    const started = performance.now();
    call.cancel();
    expect((await call.status).code).toBe(Status.CANCELLED);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(arrivals).toHaveLength(1);
  });

  it('aborting the signal during the backoff does the same', async () => {
    behave = (stream) => unavailable(stream, '10000');
    const seen = raw.nextStream();
    const controller = new AbortController();
    const pending = client.unary_stream(R('a'), { signal: controller.signal });
    const result = lastValueFrom(pending).catch((error: unknown) => error);
    await (await seen).closed;
    controller.abort();
    expect(((await result) as GrpcError).code).toBe(Status.CANCELLED);
    expect(arrivals).toHaveLength(1);
  });
});

describe('transparent retries: a refused stream is sent again once, requests included, without a retry policy', () => {
  let raw: RawServer;
  let client: GrpcClient<typeof typedExampleStub>;
  const bodies: Buffer[] = [];

  beforeAll(async () => {
    let n = 0;
    raw = await startRawServer((stream) => {
      if (++n % 2 === 1) {
        stream.close(REFUSED_STREAM);
        return;
      }
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => bodies.push(Buffer.concat(chunks)));
      reply(stream);
    });
    client = new GrpcClient(`127.0.0.1:${raw.port}`, typedExampleStub);
  });

  afterAll(async () => {
    client.close();
    await raw.close();
  });

  const requestCount = async () => {
    const body = bodies.at(-1) as Buffer;
    return parseMessages(body).length;
  };

  it('unary', async () => {
    await expect(client.unary_unary(R('a'))).resolves.toEqual({ message: 'ok', seqno: 0 });
    expect(await requestCount()).toBe(1);
  });

  it('server streaming', async () => {
    await expect(lastValueFrom(client.unary_stream(R('a')).pipe(toArray()))).resolves.toHaveLength(1);
    expect(await requestCount()).toBe(1);
  });

  it('client streaming', async () => {
    await expect(client.stream_unary([R('a'), R('b'), R('c')])).resolves.toEqual({ message: 'ok', seqno: 0 });
    expect(await requestCount()).toBe(3);
  });

  it('bidirectional streaming', async () => {
    await expect(lastValueFrom(client.stream_stream([R('a'), R('b')]).pipe(toArray()))).resolves.toHaveLength(1);
    expect(await requestCount()).toBe(2);
  });
});

describe('transparent retries after a GOAWAY', () => {
  it('a bidi call above the last-stream-id is sent again on a new connection with all its requests', async () => {
    const raw = await startRawServer((stream) => {
      if (stream.session !== raw.sessions[0]) {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
          stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
          stream.end(replyFrame(`requests: ${parseMessages(Buffer.concat(chunks)).length}`));
        });
        return;
      }
      stream.resume();
      const first = raw.streams[0].stream;
      if (stream === first) return;
      // The second stream on the first connection: GOAWAY naming the first as the last processed.
      stream.session.goaway(0, first.id);
      reply(first, 'completed');
    });
    const client = new GrpcClient(`127.0.0.1:${raw.port}`, typedExampleStub);
    try {
      await client.connect();
      const below = client.stream_unary([R('x')]);
      const above = lastValueFrom(client.stream_stream([R('a'), R('b'), R('c')]).pipe(toArray()));
      await expect(below).resolves.toEqual({ message: 'completed', seqno: 0 });
      await expect(above).resolves.toEqual([{ message: 'requests: 3', seqno: 0 }]);
      expect(raw.sessions.length).toBe(2);
    } finally {
      client.close();
      await raw.close();
    }
  });
});

describe('against @grpc/grpc-js', () => {
  it('a grpc-js server sees grpc-previous-rpc-attempts: none, then 1, then 2', async () => {
    const seen: string[][] = [];
    const { server, port } = await startGrpcJsServer({
      unary_unary(call: grpc.ServerUnaryCall<any, any>, callback: grpc.sendUnaryData<any>) {
        seen.push(call.metadata.get('grpc-previous-rpc-attempts').map(String));
        if (seen.length < 3) callback({ code: grpc.status.UNAVAILABLE, details: 'not yet' });
        else callback(null, { message: 'third', seqno: 3 });
      },
    });
    const client = new GrpcClient(`127.0.0.1:${port}`, typedExampleStub, { serviceConfig: JSON.stringify(config()) });
    try {
      await expect(client.unary_unary(R('a'))).resolves.toEqual({ message: 'third', seqno: 3 });
      expect(seen).toEqual([[], ['1'], ['2']]);
    } finally {
      client.close();
      server.forceShutdown();
    }
  });

  it('given the same service config, our client and the grpc-js client make the same attempts', async () => {
    const flaky = new FlakyService();
    const server = new GrpcServer();
    server.addService(exampleStub, flaky.implementation());
    const port = await server.listen('127.0.0.1:0');
    const serviceConfig = config(3);
    const ours = new GrpcClient(`127.0.0.1:${port}`, typedExampleStub, { serviceConfig });
    const theirs = exampleGrpcJsClient(port, { 'grpc.service_config': JSON.stringify(serviceConfig) });
    const grpcJsCall = (failures: number) => {
      const { id, metadata } = flaky.call(failures);
      const md = new grpc.Metadata();
      for (const [key, value] of Object.entries(metadata)) md.set(key, value);
      return { id, done: grpcJsUnary(theirs, 'unary_unary', R('a'), md).then((result) => result.response, (error: grpc.ServiceError) => error.code) };
    };
    try {
      for (const failures of [0, 1, 2, 5]) {
        const mine = flaky.call(failures);
        const outcome = await ours.unary_unary(R('a'), { metadata: mine.metadata }).then((response) => response, (error: GrpcError) => error.code);
        const reference = grpcJsCall(failures);
        expect(outcome).toEqual(await reference.done);
        expect(flaky.count(mine.id)).toBe(flaky.count(reference.id));
        expect(flaky.count(mine.id)).toBe(Math.min(failures + 1, 3));
      }
    } finally {
      ours.close();
      theirs.close();
      server.forceShutdown();
    }
  });
});
