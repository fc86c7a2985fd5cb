import * as grpc from '@grpc/grpc-js';
import path from 'node:path';
import protobuf from 'protobufjs';
import { Observable } from 'rxjs';
import { findDetail, GrpcClient, GrpcError, packDetail, Status, unpackDetails } from '../../lib/index.js';
import { exampleStub } from '../helpers/example-service.js';
import { collect, grpcJsUnary, startGrpcJsServer } from '../helpers/grpc-js.js';
import { Harness } from '../helpers/harness.js';

/** google.rpc.Status and the detail messages, read by protobufjs from protos/ independently of lib/protocol. */
const rpc = new protobuf.Root().loadSync(
  [path.resolve('protos/google/rpc/status.proto'), path.resolve('protos/google/rpc/error_details.proto')],
  { keepCase: true },
);
const RpcStatus = rpc.lookupType('google.rpc.Status');

interface DecodedStatus {
  code: number;
  message: string;
  details: Array<{ type_url: string; value: Buffer }>;
}

/** The grpc-status-details-bin trailer a grpc-js client received, decoded, with each detail decoded by its type URL. */
function decodeDetailsTrailer(metadata: grpc.Metadata): { status: DecodedStatus; details: Array<{ type: string; value: unknown }> } {
  const values = metadata.get('grpc-status-details-bin');
  expect(values).toHaveLength(1);
  const status = RpcStatus.toObject(RpcStatus.decode(values[0] as Buffer), { defaults: true, bytes: Buffer }) as DecodedStatus;
  const details = status.details.map(({ type_url, value }) => {
    const type = rpc.lookupType(type_url.slice(type_url.lastIndexOf('/') + 1));
    return { type: type_url, value: type.toObject(type.decode(value), { longs: Number }) };
  });
  return { status, details };
}

const richError = () =>
  new GrpcError(Status.INVALID_ARGUMENT, 'The request is invalid', [
    packDetail('BadRequest', { fieldViolations: [{ field: 'value', description: 'must be upper case', reason: 'CASE' }] }),
    packDetail('ErrorInfo', { reason: 'VALUE_CASE', domain: 'example.com', metadata: { value: 'a' } }),
    packDetail('RetryInfo', { retryDelay: { seconds: 3, nanos: 250 } }),
    packDetail('Help', { links: [{ description: 'Case rules', url: 'https://example.com/case' }] }),
    packDetail('LocalizedMessage', { locale: 'de-DE', message: 'Ungültig' }),
  ]);

const expectedOnTheWire = [
  { type: 'type.googleapis.com/google.rpc.BadRequest', value: { field_violations: [{ field: 'value', description: 'must be upper case', reason: 'CASE' }] } },
  { type: 'type.googleapis.com/google.rpc.ErrorInfo', value: { reason: 'VALUE_CASE', domain: 'example.com', metadata: { value: 'a' } } },
  { type: 'type.googleapis.com/google.rpc.RetryInfo', value: { retry_delay: { seconds: 3, nanos: 250 } } },
  { type: 'type.googleapis.com/google.rpc.Help', value: { links: [{ description: 'Case rules', url: 'https://example.com/case' }] } },
  { type: 'type.googleapis.com/google.rpc.LocalizedMessage', value: { locale: 'de-DE', message: 'Ungültig' } },
];

describe('rich error details from our server, read by a @grpc/grpc-js client', () => {
  const harness = new Harness();
  afterEach(() => harness.close());

  it('a unary error carries every packed detail in grpc-status-details-bin, with the status code and message', async () => {
    const { port } = await harness.serve({
      unary_unary() {
        throw richError();
      },
    });
    const error = await grpcJsUnary(harness.client(port), 'unary_unary', { value: 'a' }).then(
      () => Promise.reject(new Error('The call succeeded')),
      (caught: grpc.ServiceError) => caught,
    );
    expect(error.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(error.details).toBe('The request is invalid');
    const { status, details } = decodeDetailsTrailer(error.metadata);
    expect(status.code).toBe(Status.INVALID_ARGUMENT);
    expect(status.message).toBe('The request is invalid');
    expect(details).toEqual(expectedOnTheWire);
  });

  it('a stream that fails after a message carries the details too', async () => {
    const { port } = await harness.serve({
      unary_stream: () =>
        new Observable((subscriber) => {
          subscriber.next({ message: 'first', seqno: 1 });
          subscriber.error(richError());
        }),
    });
    const { messages, error } = await collect(harness.client(port).unary_stream({ value: 'a' }));
    expect(messages).toEqual([{ message: 'first', seqno: 1 }]);
    expect(error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(decodeDetailsTrailer(error!.metadata).details).toEqual(expectedOnTheWire);
  });
});

describe('rich error details from a @grpc/grpc-js server, read by GrpcClient', () => {
  let server: grpc.Server;
  let client: GrpcClient<typeof exampleStub>;

  beforeAll(async () => {
    const any = (type: string, value: Record<string, unknown>) => {
      const messageType = rpc.lookupType(`google.rpc.${type}`);
      return { type_url: `type.googleapis.com/google.rpc.${type}`, value: messageType.encode(messageType.fromObject(value)).finish() };
    };
    const statusBytes = RpcStatus.encode(
      RpcStatus.fromObject({
        code: grpc.status.FAILED_PRECONDITION,
        message: 'Terms not accepted',
        details: [
          any('PreconditionFailure', { violations: [{ type: 'TOS', subject: 'user:ann', description: 'Accept the terms first' }] }),
          any('QuotaFailure', { violations: [{ subject: 'project:p', description: 'Daily limit' }] }),
          { type_url: 'type.googleapis.com/example.Custom', value: Buffer.from([8, 1]) },
          any('ResourceInfo', { resource_type: 'book', resource_name: 'b/1', owner: 'user:ann', description: 'locked' }),
          any('RequestInfo', { request_id: 'r-1', serving_data: 'x' }),
          any('DebugInfo', { stack_entries: ['at f'], detail: 'why' }),
        ],
      }),
    ).finish();
    const started = await startGrpcJsServer({
      unary_unary(_call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) {
        const metadata = new grpc.Metadata();
        metadata.set('grpc-status-details-bin', Buffer.from(statusBytes));
        callback({ code: grpc.status.FAILED_PRECONDITION, details: 'Terms not accepted', metadata });
      },
    });
    server = started.server;
    client = new GrpcClient(`127.0.0.1:${started.port}`, exampleStub);
  });

  afterAll(async () => {
    client.close();
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  });

  it('rejects with a GrpcError whose details unpack into the standard messages, skipping unknown types', async () => {
    const error = await client.unary_unary({ value: 'a' }).then(
      () => Promise.reject(new Error('The call succeeded')),
      (caught: unknown) => caught as GrpcError,
    );
    expect(error).toBeInstanceOf(GrpcError);
    expect(error.code).toBe(Status.FAILED_PRECONDITION);
    expect(error.details).toHaveLength(6);
    expect(error.details[2].typeUrl).toBe('type.googleapis.com/example.Custom');
    expect(unpackDetails(error.details)).toEqual([
      { type: 'PreconditionFailure', value: { violations: [{ type: 'TOS', subject: 'user:ann', description: 'Accept the terms first' }] } },
      { type: 'QuotaFailure', value: { violations: [{ subject: 'project:p', description: 'Daily limit' }] } },
      { type: 'ResourceInfo', value: { resourceType: 'book', resourceName: 'b/1', owner: 'user:ann', description: 'locked' } },
      { type: 'RequestInfo', value: { requestId: 'r-1', servingData: 'x' } },
      { type: 'DebugInfo', value: { stackEntries: ['at f'], detail: 'why' } },
    ]);
    expect(findDetail(error, 'ResourceInfo')?.resourceName).toBe('b/1');
  });
});
