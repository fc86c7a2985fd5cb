import {
  ERROR_DETAIL_TYPES,
  type ErrorDetailType,
  type ErrorDetailTypes,
} from '../../lib/protocol/error-detail-types.js';
import { findDetail, packDetail, unpackDetail, unpackDetails } from '../../lib/protocol/error-details.js';
import { GrpcError } from '../../lib/protocol/grpc-error.js';
import { loadProtoRoot } from '../../lib/protocol/load-stub.js';
import { Status } from '../../lib/protocol/status.js';

/** The reference: the .proto shipped in protos/, read by protobufjs with proto field names. */
const reference = loadProtoRoot('google/rpc/error_details.proto');

/** One fully populated value of every detail type: ours (camelCase) and as the proto names it. */
const samples: { [K in ErrorDetailType]: { ours: ErrorDetailTypes[K]; proto: Record<string, unknown> } } = {
  BadRequest: {
    ours: {
      fieldViolations: [
        { field: 'name', description: 'must not be empty', reason: 'EMPTY', localizedMessage: { locale: 'fr-FR', message: 'vide' } },
        { field: 'items[2].id', description: 'unknown', reason: '' },
      ],
    },
    proto: {
      field_violations: [
        { field: 'name', description: 'must not be empty', reason: 'EMPTY', localized_message: { locale: 'fr-FR', message: 'vide' } },
        { field: 'items[2].id', description: 'unknown', reason: '', localized_message: null },
      ],
    },
  },
  ErrorInfo: {
    ours: { reason: 'API_DISABLED', domain: 'example.com', metadata: { service: 'pubsub', consumer: 'projects/1' } },
    proto: { reason: 'API_DISABLED', domain: 'example.com', metadata: { service: 'pubsub', consumer: 'projects/1' } },
  },
  RetryInfo: { ours: { retryDelay: { seconds: 12, nanos: 500_000_000 } }, proto: { retry_delay: { seconds: 12, nanos: 500_000_000 } } },
  DebugInfo: { ours: { stackEntries: ['at a', 'at b'], detail: 'boom' }, proto: { stack_entries: ['at a', 'at b'], detail: 'boom' } },
  QuotaFailure: {
    ours: { violations: [{ subject: 'clientip:203.0.113.1', description: 'Daily limit exceeded' }] },
    proto: { violations: [{ subject: 'clientip:203.0.113.1', description: 'Daily limit exceeded' }] },
  },
  PreconditionFailure: {
    ours: { violations: [{ type: 'TOS', subject: 'example.com', description: 'Terms not accepted' }] },
    proto: { violations: [{ type: 'TOS', subject: 'example.com', description: 'Terms not accepted' }] },
  },
  ResourceInfo: {
    ours: { resourceType: 'book', resourceName: 'shelves/1/books/2', owner: 'user:ann', description: 'gone' },
    proto: { resource_type: 'book', resource_name: 'shelves/1/books/2', owner: 'user:ann', description: 'gone' },
  },
  Help: {
    ours: { links: [{ description: 'Docs', url: 'https://example.com/docs' }] },
    proto: { links: [{ description: 'Docs', url: 'https://example.com/docs' }] },
  },
  LocalizedMessage: { ours: { locale: 'en-GB', message: 'Colour invalid' }, proto: { locale: 'en-GB', message: 'Colour invalid' } },
  RequestInfo: { ours: { requestId: 'req-42', servingData: 'stack=a1' }, proto: { request_id: 'req-42', serving_data: 'stack=a1' } },
};

describe('packDetail and unpackDetail', () => {
  it.each(ERROR_DETAIL_TYPES)('%s: packs what the .proto decodes, and unpacks what it encodes', (type) => {
    const { ours, proto } = samples[type];
    const referenceType = reference.lookupType(`google.rpc.${type}`);

    const packed = packDetail(type, ours as never);
    expect(packed.typeUrl).toBe(`type.googleapis.com/google.rpc.${type}`);
    expect(referenceType.toObject(referenceType.decode(packed.value), { longs: Number, defaults: true })).toEqual(proto);

    const encoded = referenceType.encode(referenceType.fromObject(proto)).finish();
    expect(unpackDetail({ typeUrl: `type.googleapis.com/google.rpc.${type}`, value: encoded })).toEqual({ type, value: ours });
  });

  it('gives every field its default when packing a partial value, and leaves unset sub-messages out when unpacking', () => {
    const packed = packDetail('BadRequest', { fieldViolations: [{ field: 'name' }] });
    expect(unpackDetail(packed)).toEqual({ type: 'BadRequest', value: { fieldViolations: [{ field: 'name', description: '', reason: '' }] } });
    expect(unpackDetail(packDetail('RetryInfo', {}))).toEqual({ type: 'RetryInfo', value: {} });
    expect(unpackDetail(packDetail('ErrorInfo', { reason: 'R' }))).toEqual({ type: 'ErrorInfo', value: { reason: 'R', domain: '', metadata: {} } });
  });

  it('refuses a value that does not fit the message', () => {
    expect(() => packDetail('RetryInfo', { retryDelay: { seconds: 'soon' as never } })).toThrow(/Invalid google\.rpc\.RetryInfo/);
  });

  it('recognises a detail by its full name whatever the type URL prefix', () => {
    const { value } = packDetail('Help', samples.Help.ours);
    expect(unpackDetail({ typeUrl: 'example.com/types/google.rpc.Help', value })).toEqual({ type: 'Help', value: samples.Help.ours });
    expect(unpackDetail({ typeUrl: 'google.rpc.Help', value })).toEqual({ type: 'Help', value: samples.Help.ours });
  });

  it('returns undefined for other types and for undecodable bytes', () => {
    expect(unpackDetail({ typeUrl: 'type.googleapis.com/example.Custom', value: new Uint8Array([8, 1]) })).toBeUndefined();
    expect(unpackDetail({ typeUrl: 'type.googleapis.com/google.rpc.Status', value: new Uint8Array([8, 1]) })).toBeUndefined();
    expect(unpackDetail({ typeUrl: 'type.googleapis.com/google.rpc.BadRequest', value: new Uint8Array([0x0a, 0x05, 0x01]) })).toBeUndefined();
  });
});

describe('unpackDetails and findDetail', () => {
  const error = new GrpcError(Status.INVALID_ARGUMENT, 'Bad request', [
    { typeUrl: 'type.googleapis.com/example.Custom', value: new Uint8Array([8, 1]) },
    packDetail('BadRequest', samples.BadRequest.ours),
    packDetail('RequestInfo', samples.RequestInfo.ours),
    packDetail('BadRequest', { fieldViolations: [] }),
  ]);

  it('reads every standard detail in order and skips the others', () => {
    expect(unpackDetails(error.details)).toEqual([
      { type: 'BadRequest', value: samples.BadRequest.ours },
      { type: 'RequestInfo', value: samples.RequestInfo.ours },
      { type: 'BadRequest', value: { fieldViolations: [] } },
    ]);
  });

  it('finds the first detail of a type on an error or a list of details', () => {
    expect(findDetail(error, 'BadRequest')).toEqual(samples.BadRequest.ours);
    expect(findDetail(error.details, 'RequestInfo')).toEqual(samples.RequestInfo.ours);
    expect(findDetail(error, 'RetryInfo')).toBeUndefined();
  });
});
