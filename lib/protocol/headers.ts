/**
 * The HTTP/2 header blocks of a gRPC call (`doc/PROTOCOL-HTTP2.md`): validation of a request's
 * headers on the server, and construction of request headers, response headers, trailers and
 * trailers-only responses. Header objects are plain records as node:http2 takes them.
 */
import { ACCEPT_ENCODING_HEADER, type Encoding } from './compression.js';
import { type AnyMessage, detailsFromStatusTrailer, encodeRpcStatus, GrpcError } from './grpc-error.js';
import { Metadata } from './metadata.js';
import { decodeStatusMessage, encodeStatusMessage } from './status-message.js';
import { isStatus, Status, statusFromHttpStatus } from './status.js';
import { formatTimeout } from './timeout.js';
import { VERSION } from './version.js';

/** An outgoing header block: name → value(s). */
export type HeaderBlock = Record<string, string | string[] | number>;

/** A received header block as node:http2 presents it. */
export type ReceivedHeaders = Readonly<Record<string, string | string[] | number | undefined>>;

/** The `user-agent` this library sends unless told otherwise: `nestjs-grpc-transport/<version>`. */
export const DEFAULT_USER_AGENT = `nestjs-grpc-transport/${VERSION}`;

/** The content type of every gRPC message this library sends. */
export const GRPC_CONTENT_TYPE = 'application/grpc';

const PATH_PATTERN = /^\/([^/]+)\/([^/]+)$/;
const CONTENT_TYPE_PATTERN = /^application\/grpc(\+proto)?(;.*)?$/i;

/** The verdict on a request's headers: route it, answer with an HTTP error, or answer with a gRPC status. */
export type RequestVerdict =
  | { kind: 'route'; service: string; method: string; path: string }
  | { kind: 'http-error'; httpStatus: 405 | 415; message: string }
  | { kind: 'grpc-error'; error: GrpcError };

function single(value: string | string[] | number | undefined): string | undefined {
  if (Array.isArray(value)) return value[0];
  return value === undefined ? undefined : String(value);
}

/**
 * Checks a request's headers as a gRPC server must: a method other than POST is HTTP 405, a
 * content type other than `application/grpc` or `application/grpc+proto` (parameters allowed)
 * is HTTP 415, and a path not of the form `/package.Service/Method` is UNIMPLEMENTED. A missing
 * `te: trailers` is tolerated.
 */
export function checkRequestHeaders(headers: ReceivedHeaders): RequestVerdict {
  const method = single(headers[':method']);
  if (method !== 'POST') {
    return { kind: 'http-error', httpStatus: 405, message: `gRPC requires POST, not ${method ?? 'no method'}` };
  }
  const contentType = single(headers['content-type']);
  if (contentType !== GRPC_CONTENT_TYPE && (contentType === undefined || !CONTENT_TYPE_PATTERN.test(contentType))) {
    return { kind: 'http-error', httpStatus: 415, message: `Unsupported content-type ${contentType ?? '(none)'}` };
  }
  const path = single(headers[':path']) ?? '';
  const match = PATH_PATTERN.exec(path);
  if (match === null) {
    return { kind: 'grpc-error', error: new GrpcError(Status.UNIMPLEMENTED, `Malformed method path ${JSON.stringify(path)}`) };
  }
  return { kind: 'route', service: match[1], method: match[2], path };
}

/** The header block of a non-gRPC refusal (HTTP 405 or 415), with a gRPC status for gRPC-aware clients. */
export function httpErrorHeaders(httpStatus: number, message: string): HeaderBlock {
  return {
    ':status': httpStatus,
    'content-type': 'text/plain',
    'grpc-status': String(Status.INTERNAL),
    'grpc-message': encodeStatusMessage(message),
  };
}

function addMetadata(block: HeaderBlock, metadata: Metadata | undefined): HeaderBlock {
  if (metadata === undefined) return block;
  const fields = metadata.toHeaders();
  for (const key of Object.keys(fields)) block[key] = fields[key];
  return block;
}

function freshResponseHeaders(encoding: Encoding): HeaderBlock {
  const block: HeaderBlock = {
    ':status': 200,
    'content-type': GRPC_CONTENT_TYPE,
    'grpc-accept-encoding': ACCEPT_ENCODING_HEADER,
  };
  if (encoding !== 'identity') block['grpc-encoding'] = encoding;
  return block;
}

/** The response headers without metadata, one frozen block per encoding, made on first use. */
const plainResponseHeaders = new Map<Encoding, Readonly<HeaderBlock>>();

/**
 * A server's response headers: status 200, content type, the encodings it accepts, the response
 * encoding (unless identity) and initial metadata. Without metadata the block is a shared frozen
 * object (node:http2 copies what it is given): copy it before changing it.
 */
export function responseHeaders(encoding: Encoding, metadata?: Metadata): Readonly<HeaderBlock> {
  if (metadata === undefined || metadata.size === 0) {
    let block = plainResponseHeaders.get(encoding);
    if (block === undefined) {
      block = Object.freeze(freshResponseHeaders(encoding));
      plainResponseHeaders.set(encoding, block);
    }
    return block;
  }
  return addMetadata(freshResponseHeaders(encoding), metadata);
}

/** The status a call ends with, as it travels in trailers. */
export interface CallStatus {
  /** The status code; OK for a successful call. */
  code: Status;
  /** The status message (`grpc-message`, percent-decoded); empty when the peer sent none. */
  message: string;
  /** Rich error details from `grpc-status-details-bin`; empty when there are none or the code is OK. */
  details: readonly AnyMessage[];
  /** Trailing metadata, without the reserved `grpc-*` keys. */
  metadata: Metadata;
}

/** A server's trailers: `grpc-status`, the percent-encoded `grpc-message` (if any), `grpc-status-details-bin` (if details) and trailing metadata. */
export function trailers(status: CallStatus): HeaderBlock {
  const block: HeaderBlock = { 'grpc-status': String(status.code) };
  if (status.message !== '') block['grpc-message'] = encodeStatusMessage(status.message);
  if (status.details.length > 0) {
    const bytes = encodeRpcStatus({ code: status.code, message: status.message, details: [...status.details] });
    block['grpc-status-details-bin'] = Buffer.from(bytes).toString('base64').replace(/=+$/, '');
  }
  return addMetadata(block, status.metadata);
}

/** The trailers of an OK status without message, details or metadata: the usual ones. */
const PLAIN_OK_TRAILERS: Readonly<HeaderBlock> = Object.freeze({ 'grpc-status': String(Status.OK) });

/**
 * `trailers(status)` to hand to node:http2 (which copies it): a plain OK status (no message,
 * details or metadata), the usual one, gets one shared frozen block instead of a new one.
 */
export function sendableTrailers(status: CallStatus): Readonly<HeaderBlock> {
  if (status.code === Status.OK && status.message === '' && status.details.length === 0 && status.metadata.size === 0) return PLAIN_OK_TRAILERS;
  return trailers(status);
}

/** A trailers-only response (one header block ending the stream): status 200, content type, accepted encodings and the trailers. */
export function trailersOnly(status: CallStatus, initialMetadata?: Metadata): HeaderBlock {
  const block = addMetadata(freshResponseHeaders('identity'), initialMetadata);
  return Object.assign(block, trailers(status));
}

/** What a client puts in a call's request headers. */
export interface RequestHeaderOptions {
  path: string;
  authority: string;
  scheme: 'http' | 'https';
  /** Remaining time in ms; omitted when the call has no deadline. */
  timeoutMs?: number;
  encoding: Encoding;
  userAgent?: string;
  metadata?: Metadata;
}

/** A client's request headers: POST to the method path, `te: trailers`, content type, encodings, `grpc-timeout`, `user-agent` and metadata. */
export function requestHeaders(options: RequestHeaderOptions): HeaderBlock {
  const block: HeaderBlock = {
    ':method': 'POST',
    ':scheme': options.scheme,
    ':path': options.path,
    ':authority': options.authority,
    'content-type': GRPC_CONTENT_TYPE,
    te: 'trailers',
    'grpc-accept-encoding': ACCEPT_ENCODING_HEADER,
    'user-agent': options.userAgent ?? DEFAULT_USER_AGENT,
  };
  if (options.encoding !== 'identity') block['grpc-encoding'] = options.encoding;
  return addCallHeaders(block, options.timeoutMs, options.metadata);
}

/** Adds one call's own request headers to `block`: `grpc-timeout` (when `timeoutMs` is given) and the metadata. */
export function addCallHeaders(block: HeaderBlock, timeoutMs: number | undefined, metadata: Metadata | undefined): HeaderBlock {
  if (timeoutMs !== undefined) block['grpc-timeout'] = formatTimeout(timeoutMs);
  return addMetadata(block, metadata);
}

/**
 * The call status a client reads from a trailer block (or a trailers-only response).
 * A missing or non-numeric `grpc-status` is UNKNOWN; a non-200 `:status` in a trailers-only
 * response maps through the HTTP table; details are kept only when their code agrees.
 */
export function statusFromTrailers(headers: ReceivedHeaders, metadata: Metadata): CallStatus {
  const httpStatus = headers[':status'];
  const rawCode = single(headers['grpc-status']);
  const message = decodeStatusMessage(single(headers['grpc-message']) ?? '');
  if (httpStatus !== undefined && Number(httpStatus) !== 200) {
    const code = statusFromHttpStatus(Number(httpStatus));
    return { code, message: message || `Received HTTP status ${httpStatus}`, details: [], metadata };
  }
  if (rawCode === undefined) {
    return { code: Status.UNKNOWN, message: 'Server ended the call without a grpc-status', details: [], metadata };
  }
  const number = /^\d+$/.test(rawCode) ? Number(rawCode) : NaN;
  if (!isStatus(number)) {
    return { code: Status.UNKNOWN, message: message || `Received an invalid grpc-status ${JSON.stringify(rawCode)}`, details: [], metadata };
  }
  const detailsText = single(headers['grpc-status-details-bin']);
  const details = detailsFromStatusTrailer(number, detailsText === undefined ? undefined : Buffer.from(detailsText, 'base64'));
  return { code: number, message, details, metadata };
}
