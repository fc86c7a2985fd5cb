import * as grpc from '@grpc/grpc-js';
import path from 'node:path';
import protobuf from 'protobufjs';
import { throwError } from 'rxjs';
import { GrpcContext, GrpcError, Metadata, Status, UNEXPECTED_ERROR_MESSAGE } from '../../lib/index.js';
import { type ExampleRequest, exampleImplementation } from '../helpers/example-service.js';
import { collect, grpcJsUnary } from '../helpers/grpc-js.js';
import { expectHealthy, Harness } from '../helpers/harness.js';
import { frame, grpcHeaders, grpcMessage, rawCall } from '../helpers/raw-http2.js';

/** google.rpc.Status and the error detail messages, decoded with protobufjs independently of lib/protocol. */
const rpc = new protobuf.Root().loadSync(
  [path.resolve('protos/google/rpc/status.proto'), path.resolve('protos/google/rpc/error_details.proto')],
  { keepCase: true },
);
const RpcStatus = rpc.lookupType('google.rpc.Status');
const BadRequest = rpc.lookupType('google.rpc.BadRequest');
const DebugInfo = rpc.lookupType('google.rpc.DebugInfo');

interface DecodedStatus {
  code: number;
  message: string;
  details: Array<{ type_url: string; value: Buffer }>;
}

function decodeStatusTrailer(metadata: grpc.Metadata): DecodedStatus {
  const [bytes] = metadata.get('grpc-status-details-bin');
  expect(Buffer.isBuffer(bytes)).toBe(true);
  return RpcStatus.toObject(RpcStatus.decode(bytes as Buffer), { defaults: true, bytes: Buffer }) as DecodedStatus;
}

async function unaryError(client: grpc.Client & Record<string, any>, method = 'unary_unary'): Promise<grpc.ServiceError> {
  return grpcJsUnary(client, method, { value: 'a' }).then(
    () => {
      throw new Error('The call succeeded');
    },
    (error: grpc.ServiceError) => error,
  );
}

describe('GrpcServer error statuses, as a @grpc/grpc-js client sees them', () => {
  const harness = new Harness();
  afterEach(() => harness.close());

  it('sends a thrown GrpcError as its code, percent-encoded message, details and trailing metadata', async () => {
    const badRequest = BadRequest.encode(
      BadRequest.fromObject({ field_violations: [{ field: 'value', description: 'must not be empty' }] }),
    ).finish();
    const message = 'Ungültig: 100% “wrong” ✗ \n next line';
    const { port } = await harness.serve({
      ...exampleImplementation,
      unary_stream: () => {
        throw new GrpcError(
          Status.INVALID_ARGUMENT,
          message,
          [{ typeUrl: 'type.googleapis.com/google.rpc.BadRequest', value: badRequest }],
          new Metadata({ 'x-error-id': '42', 'x-error-bin': Buffer.from([0, 255]) }),
        );
      },
    });
    const client = harness.client(port);
    const { status, error } = await collect(client.unary_stream({ value: 'a' }));
    expect(status.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(status.details).toBe(message);
    expect(error?.details).toBe(message);
    expect(status.metadata.get('x-error-id')).toEqual(['42']);
    expect(status.metadata.get('x-error-bin')).toEqual([Buffer.from([0, 255])]);

    const decoded = decodeStatusTrailer(status.metadata);
    expect(decoded.code).toBe(Status.INVALID_ARGUMENT);
    expect(decoded.message).toBe(message);
    expect(decoded.details).toHaveLength(1);
    expect(decoded.details[0].type_url).toBe('type.googleapis.com/google.rpc.BadRequest');
    expect(BadRequest.toObject(BadRequest.decode(decoded.details[0].value))).toEqual({
      field_violations: [{ field: 'value', description: 'must not be empty' }],
    });

    // On the wire the message is percent-encoded printable ASCII.
    const session = await harness.raw(port);
    const raw = await rawCall(session, grpcHeaders('/nameko.example/unary_stream'), frame(Buffer.from([0x0a, 0x01, 0x61])));
    expect(grpcMessage(raw)).toMatch(/^[\x20-\x7e]*$/);
    expect(grpcMessage(raw)).toContain('100%25');
    expect(grpcMessage(raw)).toContain('Ung%C3%BCltig');
    await expectHealthy(client);
  });

  it.each([
    ['a GrpcError thrown synchronously', () => { throw new GrpcError(Status.NOT_FOUND, 'gone'); }],
    ['a rejected Promise of a GrpcError', () => Promise.reject(new GrpcError(Status.NOT_FOUND, 'gone'))],
    ['an Observable erroring with a GrpcError', () => throwError(() => new GrpcError(Status.NOT_FOUND, 'gone'))],
  ])('honours %s in every call pattern', async (_name, fail) => {
    const { port } = await harness.serve({ unary_unary: fail, unary_stream: fail, stream_unary: fail, stream_stream: fail });
    const client = harness.client(port);
    expect((await unaryError(client)).code).toBe(grpc.status.NOT_FOUND);
    expect((await collect(client.unary_stream({ value: 'a' }))).status.code).toBe(grpc.status.NOT_FOUND);
    const clientStream = await new Promise<grpc.ServiceError | null>((resolve) => {
      const call = client.stream_unary((error: grpc.ServiceError | null) => resolve(error));
      call.end();
    });
    expect(clientStream?.code).toBe(grpc.status.NOT_FOUND);
    const bidi = client.stream_stream();
    bidi.end();
    const { status } = await collect(bidi);
    expect(status.code).toBe(grpc.status.NOT_FOUND);
    expect(status.details).toBe('gone');
  });

  it('sends any other error as UNKNOWN with the generic message and none of the internal text', async () => {
    const secret = 'password=hunter2 at db.internal:5432';
    const { port } = await harness.serve({
      ...exampleImplementation,
      unary_unary: () => {
        throw new Error(secret);
      },
      unary_stream: () => throwError(() => new TypeError(secret)),
      stream_unary: () => Promise.reject(secret),
    });
    const client = harness.client(port);
    const errors = [
      await unaryError(client),
      (await collect(client.unary_stream({ value: 'a' }))).error!,
      await new Promise<grpc.ServiceError>((resolve) => client.stream_unary((error: grpc.ServiceError) => resolve(error)).end()),
    ];
    for (const error of errors) {
      expect(error.code).toBe(grpc.status.UNKNOWN);
      expect(error.details).toBe(UNEXPECTED_ERROR_MESSAGE);
      expect(error.metadata.get('grpc-status-details-bin')).toEqual([]);
      expect(JSON.stringify(error.metadata.toJSON())).not.toContain('hunter2');
      expect(error.message).not.toContain('hunter2');
    }
  });

  it('ends a stream that already sent messages with the error status in the trailers', async () => {
    const { port } = await harness.serve({
      ...exampleImplementation,
      async *unary_stream() {
        yield { message: 'one', seqno: 1 };
        yield { message: 'two', seqno: 2 };
        throw new Error('internal detail');
      },
    });
    const { messages, status } = await collect(harness.client(port).unary_stream({ value: 'a' }));
    expect(messages.map((m) => m.seqno)).toEqual([1, 2]);
    expect(status.code).toBe(grpc.status.UNKNOWN);
    expect(status.details).toBe(UNEXPECTED_ERROR_MESSAGE);
  });

  it('delivers the status and trailers of a bidi call that ends while the client is still sending', async () => {
    const { port } = await harness.serve({
      ...exampleImplementation,
      async *stream_stream(requests: AsyncIterable<ExampleRequest>, ctx: GrpcContext) {
        for await (const req of requests) {
          yield { message: req.value, seqno: 1 };
          ctx.trailingMetadata.add('x-reason', 'enough');
          throw new GrpcError(Status.RESOURCE_EXHAUSTED, 'one is enough');
        }
      },
      stream_unary: async (requests: AsyncIterable<ExampleRequest>, ctx: GrpcContext) => {
        for await (const req of requests) {
          ctx.sendInitialMetadata(new Metadata());
          return { message: req.value };
        }
      },
    });
    const client = harness.client(port);
    const call = client.stream_stream();
    const result = collect(call);
    call.write({ value: 'a' }); // and never half-close
    const { messages, status } = await result;
    expect(messages.map((m) => m.message)).toEqual(['a']);
    expect([status.code, status.details]).toEqual([grpc.status.RESOURCE_EXHAUSTED, 'one is enough']);
    expect(status.metadata.get('x-reason')).toEqual(['enough']);

    const reply = await new Promise((resolve, reject) => {
      const upload = client.stream_unary((error: Error | null, value: unknown) => (error ? reject(error) : resolve(value)));
      upload.write({ value: 'first' }); // and never half-close
    });
    expect(reply).toEqual({ message: 'first', seqno: 0 });
    await expectHealthy(client);
  });

  it('keeps trailing metadata the handler set before failing, next to the error metadata', async () => {
    const { port } = await harness.serve({
      ...exampleImplementation,
      unary_stream(_request: ExampleRequest, ctx: GrpcContext) {
        ctx.trailingMetadata.add('x-from-context', 'yes');
        throw new GrpcError(Status.ABORTED, 'conflict', [], new Metadata({ 'x-from-error': 'yes' }));
      },
    });
    const { status } = await collect(harness.client(port).unary_stream({ value: 'a' }));
    expect(status.code).toBe(grpc.status.ABORTED);
    expect(status.metadata.get('x-from-context')).toEqual(['yes']);
    expect(status.metadata.get('x-from-error')).toEqual(['yes']);
  });

  it('adds a google.rpc.DebugInfo with the stack and message to UNKNOWN errors when includeErrorDetails is set', async () => {
    const { port } = await harness.serve(
      {
        ...exampleImplementation,
        unary_stream: function failingHandler() {
          throw new Error('the database is down');
        },
      },
      { includeErrorDetails: true },
    );
    const { status } = await collect(harness.client(port).unary_stream({ value: 'a' }));
    expect(status.code).toBe(grpc.status.UNKNOWN);
    expect(status.details).toBe(UNEXPECTED_ERROR_MESSAGE);
    const decoded = decodeStatusTrailer(status.metadata);
    expect(decoded.code).toBe(Status.UNKNOWN);
    expect(decoded.details.map((d) => d.type_url)).toEqual(['type.googleapis.com/google.rpc.DebugInfo']);
    const info = DebugInfo.toObject(DebugInfo.decode(decoded.details[0].value), { defaults: true }) as { detail: string; stack_entries: string[] };
    expect(info.detail).toBe('the database is down');
    expect(info.stack_entries[0]).toBe('Error: the database is down');
    expect(info.stack_entries.some((entry) => entry.includes('failingHandler'))).toBe(true);
  });

  it('maps a registered domain error class and its subclasses; other errors stay UNKNOWN', async () => {
    class NotFoundError extends Error {
      constructor(readonly key: string) {
        super(`no row ${key} in table secrets`);
      }
    }
    class UserNotFoundError extends NotFoundError {}
    class QuotaError extends Error {}
    const thrown: Record<string, () => Error> = {
      base: () => new NotFoundError('a'),
      sub: () => new UserNotFoundError('b'),
      quota: () => new QuotaError('quota'),
      broken: () => new RangeError('internal'),
    };
    const { server, port } = await harness.serve({
      ...exampleImplementation,
      unary_unary(request: ExampleRequest) {
        if (request.value in thrown) throw thrown[request.value]();
        return exampleImplementation.unary_unary(request);
      },
    });
    server.registerErrorHandler(NotFoundError, (error) => new GrpcError(Status.NOT_FOUND, `Not found: ${error.key}`));
    server.registerErrorHandler(QuotaError, () => {
      throw new Error('the mapper itself failed');
    });
    server.registerErrorHandler(RangeError, () => 'not a GrpcError' as unknown as GrpcError);
    const client = harness.client(port);
    const call = (value: string) => grpcJsUnary(client, 'unary_unary', { value }).catch((error: grpc.ServiceError) => error);

    const base = (await call('base')) as grpc.ServiceError;
    expect([base.code, base.details]).toEqual([grpc.status.NOT_FOUND, 'Not found: a']);
    const sub = (await call('sub')) as grpc.ServiceError;
    expect([sub.code, sub.details]).toEqual([grpc.status.NOT_FOUND, 'Not found: b']);
    // A mapper that throws, or returns something else, falls back to the generic UNKNOWN.
    for (const value of ['quota', 'broken']) {
      const error = (await call(value)) as grpc.ServiceError;
      expect([error.code, error.details]).toEqual([grpc.status.UNKNOWN, UNEXPECTED_ERROR_MESSAGE]);
    }
    await expectHealthy(client);
  });

  it('prefers the most recently registered matching class', async () => {
    class BaseError extends Error {}
    class SpecificError extends BaseError {}
    const { server, port } = await harness.serve({
      ...exampleImplementation,
      unary_stream() {
        throw new SpecificError('x');
      },
    });
    server.registerErrorHandler(SpecificError, () => new GrpcError(Status.OUT_OF_RANGE, 'specific'));
    server.registerErrorHandler(BaseError, () => new GrpcError(Status.INTERNAL, 'base'));
    const { status } = await collect(harness.client(port).unary_stream({ value: 'a' }));
    expect([status.code, status.details]).toEqual([grpc.status.INTERNAL, 'base']);
  });
});
