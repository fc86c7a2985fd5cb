import * as grpc from '@grpc/grpc-js';
import { from } from 'rxjs';
import { GrpcContext, GrpcError, Metadata, Status } from '../../lib/index.js';
import { type ExampleRequest, exampleImplementation } from '../helpers/example-service.js';
import { collect, grpcJsUnary } from '../helpers/grpc-js.js';
import { deferred, Harness } from '../helpers/harness.js';
import { grpcHeaders, grpcStatus, isTrailersOnly, rawCall, rawValues, exampleRequestFrame as request } from '../helpers/raw-http2.js';


const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

/** Metadata exercising what grpc-js can send: single and repeated keys, binary values of every byte, a large value. */
function sample(): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.add('x-text', 'printable ~!@#$%^&*()_+{}|:"<>? text');
  metadata.add('x-all-bytes-bin', ALL_BYTES);
  metadata.add('x-many-bin', Buffer.from([1]));
  metadata.add('x-many-bin', Buffer.from([]));
  metadata.add('x-many-bin', Buffer.from([2, 3]));
  metadata.add('x-large', 'v'.repeat(4000));
  return metadata;
}

function expectSample(received: { get(key: string): unknown[] }): void {
  expect(received.get('x-text')).toEqual(['printable ~!@#$%^&*()_+{}|:"<>? text']);
  expect(received.get('x-all-bytes-bin')).toEqual([ALL_BYTES]);
  expect(received.get('x-many-bin')).toEqual([Buffer.from([1]), Buffer.from([]), Buffer.from([2, 3])]);
  expect(received.get('x-large')).toEqual(['v'.repeat(4000)]);
}

describe('GrpcServer metadata on the wire', () => {
  const harness = new Harness();
  afterEach(() => harness.close());

  it('gives handlers of every call pattern the metadata grpc-js sent', async () => {
    const seen: Record<string, Metadata> = {};
    const record = (name: string) => (_request: unknown, ctx: GrpcContext) => {
      seen[name] = ctx.metadata;
      return name.endsWith('stream') ? from([{ message: name }]) : { message: name };
    };
    const { port } = await harness.serve({
      unary_unary: record('unary_unary'),
      unary_stream: record('unary_stream'),
      stream_unary: record('stream_unary'),
      stream_stream: record('stream_stream'),
    });
    const client = harness.client(port);
    await grpcJsUnary(client, 'unary_unary', { value: 'a' }, sample());
    await collect(client.unary_stream({ value: 'a' }, sample()));
    await new Promise((resolve) => client.stream_unary(sample(), resolve).end());
    const bidi = client.stream_stream(sample());
    bidi.end();
    await collect(bidi);
    expect(Object.keys(seen).sort()).toEqual(['stream_stream', 'stream_unary', 'unary_stream', 'unary_unary']);
    for (const metadata of Object.values(seen)) expectSample(metadata);
  });

  it('returns request metadata echoed as initial and trailing metadata to grpc-js exactly', async () => {
    const { port } = await harness.serve({
      unary_unary(_request: ExampleRequest, ctx: GrpcContext) {
        ctx.sendInitialMetadata(ctx.metadata.clone());
        ctx.setTrailingMetadata(ctx.metadata.clone());
        return { message: 'echo' };
      },
    });
    const { headers, status } = await grpcJsUnary(harness.client(port), 'unary_unary', { value: 'a' }, sample());
    expectSample(headers);
    expectSample(status.metadata);
  });

  it('reads -bin values padded or not, and several values joined by commas in one field', async () => {
    const seen = deferred<Metadata>();
    const { port } = await harness.serve({
      unary_unary(_request: ExampleRequest, ctx: GrpcContext) {
        seen.resolve(ctx.metadata);
        return {};
      },
    });
    const session = await harness.raw(port);
    const response = await rawCall(
      session,
      grpcHeaders('/nameko.example/unary_unary', {
        'x-padded-bin': Buffer.from([0xab]).toString('base64'),
        'x-unpadded-bin': Buffer.from([0xab, 0xcd]).toString('base64').replace(/=+$/, ''),
        'x-joined-bin': `${Buffer.from([1]).toString('base64')},${Buffer.from([2, 2]).toString('base64')}`,
        'x-repeated-bin': [Buffer.from([7]).toString('base64'), Buffer.from([8]).toString('base64')],
      }),
      request('a'),
    );
    expect(grpcStatus(response)).toBe(Status.OK);
    const metadata = await seen.promise;
    expect(metadata.get('x-padded-bin')).toEqual([Buffer.from([0xab])]);
    expect(metadata.get('x-unpadded-bin')).toEqual([Buffer.from([0xab, 0xcd])]);
    expect(metadata.get('x-joined-bin')).toEqual([Buffer.from([1]), Buffer.from([2, 2])]);
    expect(metadata.get('x-repeated-bin')).toEqual([Buffer.from([7]), Buffer.from([8])]);
  });

  it('keeps protocol headers out of the request metadata', async () => {
    const seen = deferred<Metadata>();
    const { port } = await harness.serve({
      unary_unary(_request: ExampleRequest, ctx: GrpcContext) {
        seen.resolve(ctx.metadata);
        return {};
      },
    });
    const session = await harness.raw(port);
    await rawCall(
      session,
      grpcHeaders('/nameko.example/unary_unary', { 'grpc-timeout': '10S', 'grpc-custom': 'x', 'user-agent': 'raw/1.0', 'x-kept': 'yes' }),
      request('a'),
    );
    const metadata = await seen.promise;
    expect([...metadata.keys()]).toEqual(['x-kept']);
  });

  it('sends error metadata in a trailers-only response, and initial metadata apart from trailing after sendInitialMetadata', async () => {
    const { port } = await harness.serve({
      unary_unary(req: ExampleRequest, ctx: GrpcContext) {
        if (req.value === 'early') throw new GrpcError(Status.NOT_FOUND, 'early', [], new Metadata({ 'x-trailing': 'e' }));
        ctx.sendInitialMetadata(new Metadata({ 'x-initial': 'i' }));
        throw new GrpcError(Status.NOT_FOUND, 'late', [], new Metadata({ 'x-trailing': 'l' }));
      },
    });
    const session = await harness.raw(port);
    const early = await rawCall(session, grpcHeaders('/nameko.example/unary_unary'), request('early'));
    expect(isTrailersOnly(early)).toBe(true);
    expect(rawValues(early.rawHeaders, 'x-trailing')).toEqual(['e']);

    const late = await rawCall(session, grpcHeaders('/nameko.example/unary_unary'), request('late'));
    expect(isTrailersOnly(late)).toBe(false);
    expect(rawValues(late.rawHeaders, 'x-initial')).toEqual(['i']);
    expect(rawValues(late.rawHeaders, 'x-trailing')).toEqual([]);
    expect(rawValues(late.rawTrailers, 'x-trailing')).toEqual(['l']);
    expect(late.trailers?.['grpc-status']).toBe(String(Status.NOT_FOUND));

    const client = harness.client(port);
    const earlyError = (await grpcJsUnary(client, 'unary_unary', { value: 'early' }).catch((e) => e)) as grpc.ServiceError & { headers: grpc.Metadata };
    expect(earlyError.metadata.get('x-trailing')).toEqual(['e']);
    const lateError = (await grpcJsUnary(client, 'unary_unary', { value: 'late' }).catch((e) => e)) as grpc.ServiceError & { headers: grpc.Metadata };
    expect(lateError.headers.get('x-initial')).toEqual(['i']);
    expect(lateError.metadata.get('x-trailing')).toEqual(['l']);
  });

  it('sends headers with the first message and trailing metadata only in the trailers', async () => {
    const { port } = await harness.serve({
      ...exampleImplementation,
      unary_stream(_request: ExampleRequest, ctx: GrpcContext) {
        ctx.trailingMetadata.set('x-count', '2');
        return from([{ seqno: 1 }, { seqno: 2 }]);
      },
    });
    const call = harness.client(port).unary_stream({ value: 'a' });
    const headers = new Promise<grpc.Metadata>((resolve) => call.on('metadata', resolve));
    const { messages, status } = await collect(call);
    expect(messages).toHaveLength(2);
    expect((await headers).get('x-count')).toEqual([]);
    expect(status.metadata.get('x-count')).toEqual(['2']);
  });
});
