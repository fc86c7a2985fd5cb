import fc from 'fast-check';
import { ACCEPT_ENCODING_HEADER } from '../../lib/protocol/compression.js';
import { type AnyMessage, encodeRpcStatus, GrpcError } from '../../lib/protocol/grpc-error.js';
import {
  type CallStatus,
  checkRequestHeaders,
  DEFAULT_USER_AGENT,
  GRPC_CONTENT_TYPE,
  httpErrorHeaders,
  type ReceivedHeaders,
  requestHeaders,
  responseHeaders,
  statusFromTrailers,
  trailers,
  trailersOnly,
} from '../../lib/protocol/headers.js';
import { Metadata } from '../../lib/protocol/metadata.js';
import { decodeStatusMessage } from '../../lib/protocol/status-message.js';
import { Status } from '../../lib/protocol/status.js';
import { parseTimeout } from '../../lib/protocol/timeout.js';
import { VERSION } from '../../lib/protocol/version.js';
import { wellFormedString } from '../fixtures/arbitraries.js';

const GOOD_REQUEST = {
  ':method': 'POST',
  ':scheme': 'http',
  ':path': '/nameko.example/unary_unary',
  ':authority': 'localhost',
  'content-type': 'application/grpc',
  te: 'trailers',
};

const BAD_REQUEST_URL = 'type.googleapis.com/google.rpc.BadRequest';

/** Node hands a client received trailers as an object; raw header pairs become metadata. */
function receive(block: Record<string, string | string[] | number>): { headers: ReceivedHeaders; metadata: Metadata } {
  const headers: Record<string, string | string[] | number> = {};
  const raw: string[] = [];
  for (const key of Object.keys(block)) {
    const value = block[key];
    headers[key] = value;
    for (const item of Array.isArray(value) ? value : [value]) raw.push(key, String(item));
  }
  return { headers, metadata: Metadata.fromRawHeaders(raw) };
}

function plainDetails(details: readonly AnyMessage[]) {
  return details.map((d) => ({ typeUrl: d.typeUrl, value: Array.from(d.value) }));
}

describe('checkRequestHeaders', () => {
  it('routes a well-formed request', () => {
    expect(checkRequestHeaders(GOOD_REQUEST)).toEqual({
      kind: 'route',
      service: 'nameko.example',
      method: 'unary_unary',
      path: '/nameko.example/unary_unary',
    });
  });

  it('tolerates a missing te: trailers', () => {
    const { te: _te, ...withoutTe } = GOOD_REQUEST;
    expect(checkRequestHeaders(withoutTe).kind).toBe('route');
  });

  it.each(['GET', 'PUT', 'HEAD', 'OPTIONS', 'post'])('answers %s with HTTP 405', (method) => {
    const verdict = checkRequestHeaders({ ...GOOD_REQUEST, ':method': method });
    expect(verdict).toEqual({ kind: 'http-error', httpStatus: 405, message: expect.stringContaining(method) });
  });

  it('answers a request without a method with HTTP 405', () => {
    const { ':method': _method, ...withoutMethod } = GOOD_REQUEST;
    expect(checkRequestHeaders(withoutMethod)).toMatchObject({ kind: 'http-error', httpStatus: 405 });
  });

  it.each([
    'application/grpc',
    'application/grpc+proto',
    'application/grpc; charset=utf-8',
    'application/grpc+proto;foo=bar',
    'Application/GRPC',
  ])('accepts content-type %j', (contentType) => {
    expect(checkRequestHeaders({ ...GOOD_REQUEST, 'content-type': contentType }).kind).toBe('route');
  });

  it.each(['text/plain', 'application/json', 'application/grpc+json', 'application/grpc-web', 'application/grpcx', 'application/grpc+protobuf', ''])(
    'answers content-type %j with HTTP 415',
    (contentType) => {
      expect(checkRequestHeaders({ ...GOOD_REQUEST, 'content-type': contentType })).toMatchObject({ kind: 'http-error', httpStatus: 415 });
    },
  );

  it('answers a missing content-type with HTTP 415', () => {
    const { 'content-type': _ct, ...withoutContentType } = GOOD_REQUEST;
    expect(checkRequestHeaders(withoutContentType)).toMatchObject({ kind: 'http-error', httpStatus: 415 });
  });

  it('checks the method before the content type', () => {
    expect(checkRequestHeaders({ ...GOOD_REQUEST, ':method': 'GET', 'content-type': 'text/plain' })).toMatchObject({ httpStatus: 405 });
  });

  it.each(['/', '/nameko.example', '/nameko.example/', '//unary_unary', 'nameko.example/unary_unary', '/a/b/c', ''])(
    'answers the path %j with UNIMPLEMENTED',
    (path) => {
      const verdict = checkRequestHeaders({ ...GOOD_REQUEST, ':path': path });
      expect(verdict.kind).toBe('grpc-error');
      const error = (verdict as { error: GrpcError }).error;
      expect(error).toBeInstanceOf(GrpcError);
      expect(error.code).toBe(Status.UNIMPLEMENTED);
      expect(error.message).toContain(JSON.stringify(path));
    },
  );

  it('answers a missing path with UNIMPLEMENTED', () => {
    const { ':path': _path, ...withoutPath } = GOOD_REQUEST;
    expect(checkRequestHeaders(withoutPath)).toMatchObject({ kind: 'grpc-error', error: { code: Status.UNIMPLEMENTED } });
  });
});

describe('response header blocks', () => {
  it('builds response headers with status 200, content type and accepted encodings', () => {
    expect(responseHeaders('identity')).toEqual({
      ':status': 200,
      'content-type': GRPC_CONTENT_TYPE,
      'grpc-accept-encoding': ACCEPT_ENCODING_HEADER,
    });
    expect(responseHeaders('gzip', new Metadata().add('x-a', '1').add('x-a', '2').add('x-bin', Buffer.of(1)))).toEqual({
      ':status': 200,
      'content-type': 'application/grpc',
      'grpc-accept-encoding': 'identity,deflate,gzip',
      'grpc-encoding': 'gzip',
      'x-a': ['1', '2'],
      'x-bin': ['AQ'],
    });
  });

  it('builds trailers: OK without a message is just grpc-status 0', () => {
    expect(trailers({ code: Status.OK, message: '', details: [], metadata: new Metadata() })).toEqual({ 'grpc-status': '0' });
  });

  it('builds trailers with a percent-encoded message, unpadded details and trailing metadata', () => {
    const details = [{ typeUrl: BAD_REQUEST_URL, value: Uint8Array.of(1) }];
    const block = trailers({ code: Status.INVALID_ARGUMENT, message: 'bad ☺ 100%', details, metadata: new Metadata({ 'x-t': 'v' }) });
    expect(block['grpc-status']).toBe('3');
    expect(block['grpc-message']).toBe('bad %E2%98%BA 100%25');
    expect(block['grpc-status-details-bin']).toMatch(/^[A-Za-z0-9+/]+$/);
    expect(Buffer.from(block['grpc-status-details-bin'] as string, 'base64')).toEqual(
      Buffer.from(encodeRpcStatus({ code: Status.INVALID_ARGUMENT, message: 'bad ☺ 100%', details })),
    );
    expect(block['x-t']).toEqual(['v']);
  });

  it('builds a trailers-only response in one block', () => {
    const block = trailersOnly(
      { code: Status.NOT_FOUND, message: 'gone', details: [], metadata: new Metadata({ 'x-trailing': 't' }) },
      new Metadata({ 'x-initial': 'i' }),
    );
    expect(block).toEqual({
      ':status': 200,
      'content-type': 'application/grpc',
      'grpc-accept-encoding': 'identity,deflate,gzip',
      'x-initial': ['i'],
      'grpc-status': '5',
      'grpc-message': 'gone',
      'x-trailing': ['t'],
    });
    const { headers, metadata } = receive(block);
    expect(statusFromTrailers(headers, metadata)).toMatchObject({ code: Status.NOT_FOUND, message: 'gone' });
  });

  it('builds the refusal for a non-gRPC request', () => {
    expect(httpErrorHeaders(415, 'Unsupported content-type text/plain')).toEqual({
      ':status': 415,
      'content-type': 'text/plain',
      'grpc-status': String(Status.INTERNAL),
      'grpc-message': 'Unsupported content-type text/plain',
    });
    expect(decodeStatusMessage(httpErrorHeaders(405, 'gRPC requires POST, not GET\n')['grpc-message'] as string)).toBe(
      'gRPC requires POST, not GET\n',
    );
  });
});

describe('request headers', () => {
  it('builds a POST with te, content type, encodings, user-agent and metadata', () => {
    const block = requestHeaders({
      path: '/nameko.example/unary_unary',
      authority: 'localhost:50051',
      scheme: 'http',
      encoding: 'identity',
      metadata: new Metadata({ authorization: 'Bearer t' }),
    });
    expect(block).toEqual({
      ':method': 'POST',
      ':scheme': 'http',
      ':path': '/nameko.example/unary_unary',
      ':authority': 'localhost:50051',
      'content-type': 'application/grpc',
      te: 'trailers',
      'grpc-accept-encoding': 'identity,deflate,gzip',
      'user-agent': `nestjs-grpc-transport/${VERSION}`,
      authorization: ['Bearer t'],
    });
    expect(checkRequestHeaders(block)).toMatchObject({ kind: 'route', service: 'nameko.example', method: 'unary_unary' });
  });

  it('adds grpc-encoding, grpc-timeout and a custom user-agent when asked', () => {
    const block = requestHeaders({ path: '/a.B/C', authority: 'h', scheme: 'https', encoding: 'gzip', timeoutMs: 1500, userAgent: 'mine/1' });
    expect(block['grpc-encoding']).toBe('gzip');
    expect(parseTimeout(block['grpc-timeout'] as string)).toBe(1500);
    expect(block['user-agent']).toBe('mine/1');
    expect(block[':scheme']).toBe('https');
  });

  it('sends an already expired deadline as the smallest timeout', () => {
    expect(requestHeaders({ path: '/a.B/C', authority: 'h', scheme: 'http', encoding: 'identity', timeoutMs: -5 })['grpc-timeout']).toBe('1n');
  });

  it('has the default user-agent nestjs-grpc-transport/<version>', () => {
    expect(DEFAULT_USER_AGENT).toBe(`nestjs-grpc-transport/${VERSION}`);
    expect(DEFAULT_USER_AGENT).toMatch(/^nestjs-grpc-transport\/\d+\.\d+\.\d+/);
  });
});

describe('statusFromTrailers', () => {
  const callStatus: fc.Arbitrary<CallStatus> = fc.record({
    code: fc.integer({ min: 0, max: 16 }),
    message: wellFormedString({ maxLength: 40 }),
    details: fc.array(fc.record({ typeUrl: fc.string({ maxLength: 30 }), value: fc.uint8Array({ maxLength: 20 }) }), { maxLength: 3 }),
    metadata: fc
      .array(fc.tuple(fc.constantFrom('x-a', 'x-b', 'trace-bin'), fc.string({ maxLength: 10 })), { maxLength: 4 })
      .map((pairs) => {
        const metadata = new Metadata();
        for (const [key, value] of pairs) metadata.add(key, key.endsWith('-bin') ? Buffer.from(value) : value.replace(/[^\x20-\x7e]/g, ''));
        return metadata;
      }),
  });

  it('round-trips trailers() → statusFromTrailers(), details and metadata included', () => {
    fc.assert(
      fc.property(callStatus, fc.boolean(), (status, withHttpStatus) => {
        const block = trailers(status);
        if (withHttpStatus) block[':status'] = 200;
        const { headers, metadata } = receive(block);
        const received = statusFromTrailers(headers, metadata);
        expect(received.code).toBe(status.code);
        expect(received.message).toBe(status.message);
        expect(plainDetails(received.details)).toEqual(plainDetails(status.details));
        expect([...received.metadata]).toEqual([...status.metadata]);
      }),
    );
  });

  it('ignores details whose code disagrees with grpc-status', () => {
    const details = [{ typeUrl: BAD_REQUEST_URL, value: Uint8Array.of(1, 2) }];
    const block = trailers({ code: Status.INVALID_ARGUMENT, message: 'm', details, metadata: new Metadata() });
    block['grpc-status'] = String(Status.INTERNAL);
    const received = statusFromTrailers(block, new Metadata());
    expect(received.code).toBe(Status.INTERNAL);
    expect(received.details).toEqual([]);
  });

  it('ignores undecodable details', () => {
    const received = statusFromTrailers({ 'grpc-status': '3', 'grpc-status-details-bin': '////' }, new Metadata());
    expect(received).toMatchObject({ code: Status.INVALID_ARGUMENT, details: [] });
  });

  it('reports a missing grpc-status as UNKNOWN', () => {
    const metadata = new Metadata({ 'x-a': '1' });
    const received = statusFromTrailers({ 'x-a': '1' }, metadata);
    expect(received.code).toBe(Status.UNKNOWN);
    expect(received.message).toContain('grpc-status');
    expect(received.metadata).toBe(metadata);
    expect(statusFromTrailers({ ':status': 200, 'content-type': 'application/grpc' }, new Metadata()).code).toBe(Status.UNKNOWN);
  });

  it.each(['17', '-1', 'abc', '', '1.5', ' 1', '0x1', '99999999999999999999'])('reports the invalid grpc-status %j as UNKNOWN', (raw) => {
    expect(statusFromTrailers({ 'grpc-status': raw }, new Metadata()).code).toBe(Status.UNKNOWN);
    expect(statusFromTrailers({ 'grpc-status': raw, 'grpc-message': 'kept' }, new Metadata()).message).toBe('kept');
  });

  it('accepts a numeric grpc-status and takes the first of repeated values', () => {
    expect(statusFromTrailers({ 'grpc-status': '14' }, new Metadata()).code).toBe(Status.UNAVAILABLE);
    expect(statusFromTrailers({ 'grpc-status': ['5', '6'] }, new Metadata()).code).toBe(Status.NOT_FOUND);
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
    [302, Status.UNKNOWN],
  ])('maps a non-200 :status %i through the HTTP table to %s', (httpStatus, code) => {
    const received = statusFromTrailers({ ':status': httpStatus, 'content-type': 'text/html' }, new Metadata());
    expect(received.code).toBe(code);
    expect(received.message).toContain(String(httpStatus));
    expect(received.details).toEqual([]);
    expect(statusFromTrailers({ ':status': String(httpStatus) }, new Metadata()).code).toBe(code);
  });

  it('keeps a grpc-message sent with a non-200 status', () => {
    expect(statusFromTrailers({ ':status': 503, 'grpc-message': 'try%20later' }, new Metadata())).toMatchObject({
      code: Status.UNAVAILABLE,
      message: 'try later',
    });
  });

  it('never throws on arbitrary trailer blocks', () => {
    fc.assert(
      fc.property(
        fc.record(
          {
            ':status': fc.oneof(fc.integer({ min: 100, max: 599 }), fc.constant(200), fc.string({ maxLength: 4 })),
            'grpc-status': fc.oneof(fc.integer({ min: -2, max: 20 }).map(String), fc.string({ maxLength: 4 })),
            'grpc-message': fc.string({ maxLength: 20 }),
            'grpc-status-details-bin': fc.string({ maxLength: 20 }),
          },
          { requiredKeys: [] },
        ),
        (headers) => {
          const received = statusFromTrailers(headers, new Metadata());
          expect(received.code >= 0 && received.code <= 16).toBe(true);
          expect(typeof received.message).toBe('string');
        },
      ),
    );
  });
});
