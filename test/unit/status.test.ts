import http2 from 'node:http2';
import fc from 'fast-check';
import { Http2ErrorCode, isStatus, Status, statusFromHttpStatus, statusFromRstCode, statusName } from '../../lib/protocol/status.js';

const NAMES = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
];

describe('Status', () => {
  it('numbers the 17 canonical codes as the gRPC specification does', () => {
    NAMES.forEach((name, code) => {
      expect(Status[name as keyof typeof Status]).toBe(code);
      expect(statusName(code)).toBe(name);
      expect(isStatus(code)).toBe(true);
    });
    const numericMembers = Object.values(Status).filter((value) => typeof value === 'number');
    expect(numericMembers).toHaveLength(17);
  });

  it('names an undefined code UNKNOWN(<n>) and does not count it as a status', () => {
    for (const code of [-1, 17, 100, 1.5, NaN, Infinity]) {
      expect(isStatus(code)).toBe(false);
      expect(statusName(code)).toBe(`UNKNOWN(${code})`);
    }
  });

  it('accepts exactly the integers 0 to 16', () => {
    fc.assert(
      fc.property(fc.double(), (value) => {
        expect(isStatus(value)).toBe(Number.isInteger(value) && value >= 0 && value <= 16);
      }),
    );
  });
});

describe('statusFromHttpStatus', () => {
  it.each([
    [400, Status.INTERNAL],
    [401, Status.UNAUTHENTICATED],
    [403, Status.PERMISSION_DENIED],
    [404, Status.UNIMPLEMENTED],
    [429, Status.UNAVAILABLE],
    [502, Status.UNAVAILABLE],
    [503, Status.UNAVAILABLE],
    [504, Status.UNAVAILABLE],
  ])('maps HTTP %i to %s', (httpStatus, expected) => {
    expect(statusFromHttpStatus(httpStatus)).toBe(expected);
  });

  it('maps every other HTTP status to UNKNOWN', () => {
    const mapped = new Set([400, 401, 403, 404, 429, 502, 503, 504]);
    for (let httpStatus = 100; httpStatus < 600; httpStatus++) {
      if (!mapped.has(httpStatus)) expect(statusFromHttpStatus(httpStatus)).toBe(Status.UNKNOWN);
    }
  });
});

describe('statusFromRstCode', () => {
  it.each([
    [Http2ErrorCode.REFUSED_STREAM, Status.UNAVAILABLE],
    [Http2ErrorCode.CANCEL, Status.CANCELLED],
    [Http2ErrorCode.ENHANCE_YOUR_CALM, Status.RESOURCE_EXHAUSTED],
    [Http2ErrorCode.INADEQUATE_SECURITY, Status.PERMISSION_DENIED],
  ])('maps RST_STREAM code %i to %s', (code, expected) => {
    expect(statusFromRstCode(code)).toBe(expected);
  });

  it('maps every other HTTP/2 error code (NO_ERROR included) to INTERNAL', () => {
    const others = [
      Http2ErrorCode.NO_ERROR,
      Http2ErrorCode.PROTOCOL_ERROR,
      Http2ErrorCode.INTERNAL_ERROR,
      Http2ErrorCode.FLOW_CONTROL_ERROR,
      Http2ErrorCode.SETTINGS_TIMEOUT,
      Http2ErrorCode.STREAM_CLOSED,
      Http2ErrorCode.FRAME_SIZE_ERROR,
      Http2ErrorCode.COMPRESSION_ERROR,
      Http2ErrorCode.CONNECT_ERROR,
      Http2ErrorCode.HTTP_1_1_REQUIRED,
      0xe,
      0xffff,
    ];
    for (const code of others) expect(statusFromRstCode(code)).toBe(Status.INTERNAL);
  });

  it('uses the RFC 9113 numbers for the HTTP/2 error codes, as node:http2 does', () => {
    const names = Object.keys(Http2ErrorCode).filter((key) => Number.isNaN(Number(key)));
    expect(names).toHaveLength(14);
    for (const name of names) {
      const nodeCode = (http2.constants as unknown as Record<string, number>)[`NGHTTP2_${name}`];
      expect([name, Http2ErrorCode[name as keyof typeof Http2ErrorCode]]).toEqual([name, nodeCode]);
    }
  });
});
