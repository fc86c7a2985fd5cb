import * as grpc from '@grpc/grpc-js';
import http2 from 'node:http2';
import path from 'node:path';
import zlib from 'node:zlib';
import protobuf from 'protobufjs';
import { Observable } from 'rxjs';
import { DEFAULT_MAX_RECEIVE_MESSAGE_SIZE, GrpcContext, Status } from '../../lib/index.js';
import { type ExampleRequest, exampleImplementation } from '../helpers/example-service.js';
import { collect, grpcJsUnary } from '../helpers/grpc-js.js';
import { deferred, expectHealthy, Harness } from '../helpers/harness.js';
import { frame, grpcHeaders, grpcStatus, parseMessages, rawCall, startRaw } from '../helpers/raw-http2.js';

const root = protobuf.loadSync(path.resolve('protos/example.proto'));
const ExampleRequestType = root.lookupType('nameko.ExampleRequest');
const encodeRequest = (value: string) => Buffer.from(ExampleRequestType.encode(ExampleRequestType.fromObject({ value })).finish());

/** A request whose serialized size is exactly `size` bytes (field tag + length varint + value). */
function valueOfEncodedSize(size: number): string {
  for (let overhead = 2; overhead <= 6; overhead++) {
    const value = 'r'.repeat(size - overhead);
    if (encodeRequest(value).length === size) return value;
  }
  throw new Error(`No value encodes to ${size} bytes`);
}

/** Handlers that report only the sizes of what they got, so replies stay small. */
const sizeReporting = {
  unary_unary: (request: ExampleRequest) =>
    request.value === 'ok' ? exampleImplementation.unary_unary(request) : { message: String(request.value.length) },
  async stream_unary(requests: AsyncIterable<ExampleRequest>) {
    const sizes: number[] = [];
    for await (const request of requests) sizes.push(request.value.length);
    return { message: sizes.join(',') };
  },
};

async function unaryCode(client: grpc.Client & Record<string, any>, value: string): Promise<number> {
  return grpcJsUnary(client, 'unary_unary', { value }).then(
    () => grpc.status.OK,
    (error: grpc.ServiceError) => error.code,
  );
}

describe('GrpcServer message size limits', () => {
  const harness = new Harness();
  afterEach(() => harness.close());

  it('refuses requests over the default 4 MiB with RESOURCE_EXHAUSTED and accepts one at the limit', async () => {
    expect(DEFAULT_MAX_RECEIVE_MESSAGE_SIZE).toBe(4 * 1024 * 1024);
    const { port } = await harness.serve({ ...exampleImplementation, ...sizeReporting });
    const client = harness.client(port);
    expect(await unaryCode(client, valueOfEncodedSize(DEFAULT_MAX_RECEIVE_MESSAGE_SIZE))).toBe(grpc.status.OK);
    expect(await unaryCode(client, valueOfEncodedSize(DEFAULT_MAX_RECEIVE_MESSAGE_SIZE + 1))).toBe(grpc.status.RESOURCE_EXHAUSTED);
    await expectHealthy(client);
  });

  it('applies a configured maxReceiveMessageSize to every request message of a stream', async () => {
    const { port } = await harness.serve({ ...exampleImplementation, ...sizeReporting }, { maxReceiveMessageSize: 1024 });
    const client = harness.client(port);
    expect(await unaryCode(client, valueOfEncodedSize(1024))).toBe(grpc.status.OK);
    expect(await unaryCode(client, valueOfEncodedSize(1025))).toBe(grpc.status.RESOURCE_EXHAUSTED);

    const error = await new Promise<grpc.ServiceError | null>((resolve) => {
      const call = client.stream_unary((e: grpc.ServiceError | null) => resolve(e));
      call.write({ value: 'small' });
      call.write({ value: valueOfEncodedSize(2000) });
      call.end();
    });
    expect(error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(error?.details).toMatch(/larger than max/);
    await expectHealthy(client);
  });

  it('refuses an over-limit declared length as soon as the prefix arrives, before the body', async () => {
    const { port } = await harness.serve(exampleImplementation, { maxReceiveMessageSize: 1024 });
    const session = await harness.raw(port);
    const call = startRaw(session, grpcHeaders('/nameko.example/unary_unary'));
    // Only the 5-byte prefix of a 100 MB message; the stream stays open.
    call.stream.write(frame(Buffer.alloc(0), false, 100_000_000));
    const response = await call.response;
    expect(grpcStatus(response)).toBe(Status.RESOURCE_EXHAUSTED);
  });

  it('stops inflating a compressed request at the limit: RESOURCE_EXHAUSTED', async () => {
    const { port } = await harness.serve({ ...exampleImplementation, ...sizeReporting }, { maxReceiveMessageSize: 64 * 1024 });
    const session = await harness.raw(port);
    const bomb = zlib.gzipSync(encodeRequest('0'.repeat(10 * 1024 * 1024)));
    expect(bomb.length).toBeLessThan(64 * 1024);
    const response = await rawCall(session, grpcHeaders('/nameko.example/unary_unary', { 'grpc-encoding': 'gzip' }), frame(bomb, true));
    expect(grpcStatus(response)).toBe(Status.RESOURCE_EXHAUSTED);

    // The same through grpc-js: small on the wire, over the limit once inflated.
    const client = harness.client(port, { 'grpc.default_compression_algorithm': 2 });
    expect(await unaryCode(client, '0'.repeat(100 * 1024))).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(await unaryCode(client, '0'.repeat(60 * 1024))).toBe(grpc.status.OK);
  });

  it('accepts any size with maxReceiveMessageSize -1', async () => {
    const { port } = await harness.serve({ ...exampleImplementation, ...sizeReporting }, { maxReceiveMessageSize: -1 });
    const { response } = await grpcJsUnary(harness.client(port), 'unary_unary', { value: 'x'.repeat(5 * 1024 * 1024) });
    expect(response.message).toBe(String(5 * 1024 * 1024));
  });

  it('fails a response over maxSendMessageSize with RESOURCE_EXHAUSTED, also mid-stream', async () => {
    const { port } = await harness.serve(
      {
        unary_unary: (request: ExampleRequest) => ({ message: request.value }),
        unary_stream: (request: ExampleRequest) =>
          new Observable((subscriber) => {
            subscriber.next({ message: 'small' });
            subscriber.next({ message: request.value });
            subscriber.complete();
          }),
        async *stream_stream(requests: AsyncIterable<ExampleRequest>) {
          for await (const request of requests) yield { message: request.value };
        },
      },
      { maxSendMessageSize: 1000 },
    );
    const client = harness.client(port);
    expect(await unaryCode(client, 'y'.repeat(900))).toBe(grpc.status.OK);
    expect(await unaryCode(client, 'y'.repeat(1100))).toBe(grpc.status.RESOURCE_EXHAUSTED);

    const streamed = await collect(client.unary_stream({ value: 'y'.repeat(1100) }));
    expect(streamed.messages.map((m) => m.message)).toEqual(['small']);
    expect(streamed.status.code).toBe(grpc.status.RESOURCE_EXHAUSTED);

    const bidi = client.stream_stream();
    const result = collect(bidi);
    bidi.write({ value: 'fits' });
    bidi.write({ value: 'y'.repeat(1100) });
    bidi.end();
    const { messages, status } = await result;
    expect(messages.map((m) => m.message)).toEqual(['fits']);
    expect(status.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
  });

  it('fails an Observable that out-runs the client beyond maxBufferedResponseBytes and unsubscribes it', async () => {
    const released = deferred<unknown>();
    const chunk = 'b'.repeat(64 * 1024);
    const { port } = await harness.serve(
      {
        unary_stream: (_request: ExampleRequest, ctx: GrpcContext) =>
          new Observable((subscriber) => {
            let closed = false;
            // Pushes far more than the limit in one go; a correct server stops it part-way.
            for (let i = 0; i < 64 && !closed && !subscriber.closed; i++) subscriber.next({ message: chunk, seqno: i });
            return () => {
              closed = true;
              released.resolve(ctx.signal.reason);
            };
          }),
      },
      { maxBufferedResponseBytes: 1024 * 1024 },
    );
    const { messages, status } = await collect(harness.client(port).unary_stream({ value: 'a' }));
    expect(status.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(messages.length).toBeGreaterThan(0);
    expect(messages.length).toBeLessThan(64);
    await released.promise;
  });

  it('streams the same volume from an async generator without hitting the buffer limit (backpressure)', async () => {
    const chunk = 'b'.repeat(64 * 1024);
    const { port } = await harness.serve(
      {
        async *unary_stream() {
          for (let i = 0; i < 64; i++) yield { message: chunk, seqno: i };
        },
      },
      { maxBufferedResponseBytes: 1024 * 1024 },
    );
    const { messages, status } = await collect(harness.client(port).unary_stream({ value: 'a' }));
    expect(status.code).toBe(grpc.status.OK);
    expect(messages).toHaveLength(64);
  });

  it('advertises its stream and header-list limits in SETTINGS (defaults 1000 and 16 KiB, configurable)', async () => {
    const defaults = await harness.serve(exampleImplementation);
    const configured = await harness.serve(exampleImplementation, { maxConcurrentStreams: 7, maxHeaderListSize: 4096 });
    for (const [port, streams, headerList] of [
      [defaults.port, 1000, 16 * 1024],
      [configured.port, 7, 4096],
    ]) {
      const session = http2.connect(`http://127.0.0.1:${port}`);
      const settings = await new Promise<http2.Settings>((resolve) => session.once('remoteSettings', resolve));
      session.destroy();
      expect([settings.maxConcurrentStreams, settings.maxHeaderListSize]).toEqual([streams, headerList]);
    }
  });

  it('refuses request metadata over maxHeaderListSize for that call only (RESOURCE_EXHAUSTED)', async () => {
    const { port } = await harness.serve(exampleImplementation, { maxHeaderListSize: 8 * 1024 });
    const client = harness.client(port);
    await expectHealthy(client);
    const big = new grpc.Metadata();
    big.add('x-big', 'h'.repeat(10 * 1024));
    const concurrent = collect(client.unary_stream({ value: 'c' }));
    const error = await grpcJsUnary(client, 'unary_unary', { value: 'a' }, big).catch((e: grpc.ServiceError) => e);
    expect((error as grpc.ServiceError).code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect((await concurrent).status.code).toBe(grpc.status.OK);
    await expectHealthy(client);
  });

  it('reads a client-streaming request only as fast as an async-iterating handler consumes it', async () => {
    const consumed = deferred();
    const firstRead = deferred();
    let received = 0;
    const { port } = await harness.serve({
      async stream_unary(requests: AsyncIterable<ExampleRequest>) {
        const iterator = requests[Symbol.asyncIterator]();
        await iterator.next();
        received++;
        firstRead.resolve();
        await consumed.promise;
        for (let step = await iterator.next(); !step.done; step = await iterator.next()) received++;
        return { message: String(received) };
      },
    });
    const session = await harness.raw(port);
    const call = startRaw(session, grpcHeaders('/nameko.example/stream_unary'));
    const message = frame(encodeRequest('p'.repeat(16 * 1024)));
    call.stream.write(message);
    await firstRead.promise;
    // Write until HTTP/2 flow control stops us: a server that reads ahead of the handler would
    // take all 4 MiB; one that honours backpressure grants no window once its small queue is full.
    const budget = 256;
    let written = 1;
    while (written < budget) {
      if (call.stream.write(message)) {
        written++;
        continue;
      }
      written++;
      const drained = await Promise.race([
        new Promise<boolean>((resolve) => call.stream.once('drain', () => resolve(true))),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 300)),
      ]);
      if (!drained) break;
    }
    expect(written).toBeLessThan(budget / 2);
    consumed.resolve();
    call.stream.end();
    const response = await call.response;
    expect(grpcStatus(response)).toBe(Status.OK);
    expect(parseMessages(response.data)).toHaveLength(1);
    expect(received).toBe(written);
  });
});
