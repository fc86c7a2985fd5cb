import fc from 'fast-check';
import type protobuf from 'protobufjs';
import {
  type AnyMessage,
  decodeRpcStatus,
  detailsFromStatusTrailer,
  encodeRpcStatus,
  GrpcError,
  type RpcStatus,
} from '../../lib/protocol/grpc-error.js';
import { loadProtoRoot } from '../../lib/protocol/load-stub.js';
import { Metadata } from '../../lib/protocol/metadata.js';
import { Status } from '../../lib/protocol/status.js';
import { wellFormedString } from '../fixtures/arbitraries.js';

const BAD_REQUEST_URL = 'type.googleapis.com/google.rpc.BadRequest';

/** Well-formed strings only: lone surrogates cannot survive UTF-8 in any protobuf implementation. */
const text = wellFormedString({ maxLength: 40 });

const anyMessage: fc.Arbitrary<AnyMessage> = fc.record({ typeUrl: text, value: fc.uint8Array({ maxLength: 64 }) });

const rpcStatus: fc.Arbitrary<RpcStatus> = fc.record({
  code: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  message: text,
  details: fc.array(anyMessage, { maxLength: 5 }),
});

/** Compares byte fields by content, whatever Uint8Array subclass (Buffer) the decoder returned. */
function plain(status: RpcStatus | undefined) {
  if (status === undefined) return undefined;
  return { ...status, details: status.details.map((d) => ({ typeUrl: d.typeUrl, value: Array.from(d.value) })) };
}

function googleRpc(): protobuf.Root {
  return loadProtoRoot(['google/rpc/status.proto', 'google/rpc/error_details.proto']);
}

function badRequestDetail(root: protobuf.Root, field: string, description: string): AnyMessage {
  const BadRequest = root.lookupType('google.rpc.BadRequest');
  const value = BadRequest.encode(BadRequest.fromObject({ field_violations: [{ field, description }] })).finish();
  return { typeUrl: BAD_REQUEST_URL, value };
}

describe('GrpcError', () => {
  it('carries a code, a message, details and metadata', () => {
    const metadata = new Metadata({ 'x-trace': 'abc' });
    const details = [{ typeUrl: BAD_REQUEST_URL, value: Uint8Array.of(1, 2) }];
    const error = new GrpcError(Status.NOT_FOUND, 'no such thing', details, metadata);
    expect(error).toBeInstanceOf(Error);
    expect(error).toBeInstanceOf(GrpcError);
    expect(error.name).toBe('GrpcError');
    expect(error.code).toBe(Status.NOT_FOUND);
    expect(error.codeName).toBe('NOT_FOUND');
    expect(error.message).toBe('no such thing');
    expect(error.details).toBe(details);
    expect(error.metadata).toBe(metadata);
    expect(String(error)).toBe('GrpcError: NOT_FOUND: no such thing');
    expect(error.stack).toContain('no such thing');
  });

  it('defaults to no details and empty metadata, not shared between errors', () => {
    const a = new GrpcError(Status.INTERNAL, 'a');
    const b = new GrpcError(Status.INTERNAL, 'b');
    expect(a.details).toEqual([]);
    expect(a.metadata).toBeInstanceOf(Metadata);
    expect(a.metadata.size).toBe(0);
    expect(a.metadata).not.toBe(b.metadata);
  });

  it('turns a code outside 0-16 into UNKNOWN', () => {
    for (const code of [17, -1, 2.5, NaN]) {
      const error = new GrpcError(code as Status, 'x');
      expect(error.code).toBe(Status.UNKNOWN);
      expect(error.codeName).toBe('UNKNOWN');
    }
  });
});

describe('google.rpc.Status codec', () => {
  it('round-trips any status', () => {
    fc.assert(
      fc.property(rpcStatus, (status) => {
        expect(plain(decodeRpcStatus(encodeRpcStatus(status)))).toEqual(plain(status));
      }),
    );
  });

  it('encodes the empty status as zero bytes (proto3 defaults are omitted)', () => {
    expect(encodeRpcStatus({ code: 0, message: '', details: [] })).toHaveLength(0);
    expect(decodeRpcStatus(new Uint8Array(0))).toEqual({ code: 0, message: '', details: [] });
  });

  it('never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const status = decodeRpcStatus(bytes);
        if (status !== undefined) {
          expect(typeof status.code).toBe('number');
          expect(typeof status.message).toBe('string');
          expect(Array.isArray(status.details)).toBe(true);
        }
      }),
    );
  });

  it('returns undefined for truncated bytes rather than throwing', () => {
    const bytes = encodeRpcStatus({ code: 3, message: 'a long enough message', details: [] });
    expect(decodeRpcStatus(bytes.subarray(0, bytes.length - 3))).toBeUndefined();
  });

  it('skips unknown fields', () => {
    const known = encodeRpcStatus({ code: 5, message: 'm', details: [] });
    // field 9, varint 150; field 10, length-delimited "hi"
    const unknown = Uint8Array.of(9 << 3, 0x96, 0x01, (10 << 3) | 2, 2, 0x68, 0x69);
    expect(decodeRpcStatus(Buffer.concat([unknown, known]))).toEqual({ code: 5, message: 'm', details: [] });
  });

  it('writes bytes protobufjs decodes as google.rpc.Status, with a BadRequest packed in an Any', () => {
    const root = googleRpc();
    const detail = badRequestDetail(root, 'name', 'must not be empty');
    const bytes = encodeRpcStatus({ code: Status.INVALID_ARGUMENT, message: 'bad name ☺', details: [detail] });

    const decoded = root.lookupType('google.rpc.Status').decode(bytes) as unknown as {
      code: number;
      message: string;
      details: { type_url: string; value: Uint8Array }[];
    };
    expect(decoded.code).toBe(Status.INVALID_ARGUMENT);
    expect(decoded.message).toBe('bad name ☺');
    expect(decoded.details).toHaveLength(1);
    expect(decoded.details[0].type_url).toBe(BAD_REQUEST_URL);
    const badRequest = root.lookupType('google.rpc.BadRequest').toObject(root.lookupType('google.rpc.BadRequest').decode(decoded.details[0].value));
    expect(badRequest).toEqual({ field_violations: [{ field: 'name', description: 'must not be empty' }] });
  });

  it('reads a google.rpc.Status that protobufjs wrote', () => {
    const root = googleRpc();
    const detail = badRequestDetail(root, 'age', 'must be positive');
    const StatusType = root.lookupType('google.rpc.Status');
    const bytes = StatusType.encode(
      StatusType.fromObject({ code: Status.FAILED_PRECONDITION, message: 'nope', details: [{ type_url: detail.typeUrl, value: detail.value }] }),
    ).finish();
    expect(plain(decodeRpcStatus(bytes))).toEqual(
      plain({ code: Status.FAILED_PRECONDITION, message: 'nope', details: [detail] }),
    );
  });
});

describe('detailsFromStatusTrailer', () => {
  const details = [{ typeUrl: BAD_REQUEST_URL, value: Uint8Array.of(10, 0) }];

  it('trusts the details of a status whose code agrees with grpc-status', () => {
    const bytes = encodeRpcStatus({ code: Status.INVALID_ARGUMENT, message: 'm', details });
    expect(plain({ code: 0, message: '', details: detailsFromStatusTrailer(Status.INVALID_ARGUMENT, bytes) })).toEqual(
      plain({ code: 0, message: '', details }),
    );
  });

  it('ignores the details of a status whose code disagrees', () => {
    const bytes = encodeRpcStatus({ code: Status.INVALID_ARGUMENT, message: 'm', details });
    expect(detailsFromStatusTrailer(Status.INTERNAL, bytes)).toEqual([]);
    expect(detailsFromStatusTrailer(Status.OK, bytes)).toEqual([]);
  });

  it('yields no details when the trailer is absent or undecodable', () => {
    expect(detailsFromStatusTrailer(Status.INTERNAL, undefined)).toEqual([]);
    expect(detailsFromStatusTrailer(Status.INTERNAL, Uint8Array.of(0x0a, 0x05, 0x01))).toEqual([]);
  });
});
