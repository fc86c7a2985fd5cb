/**
 * The equivalence matrix's test service (test/fixtures/protos/equivalence.proto): its stubs,
 * message types, and the pure parts of its behaviour that every server kind shares (which
 * metadata goes back, what a reply holds, the google.rpc.Status of a failure).
 */
import path from 'node:path';
import { type AnyMessage, encodeRpcStatus, GrpcError, loadStub, Metadata, type Status } from '../../lib/index.js';

/** The proto of the matrix's service. */
export const MATRIX_PROTO = path.resolve('test/fixtures/protos/equivalence.proto');

/** equivalence.Matrix, for our server, our client and the Nest ones. */
export const matrixStub = loadStub(MATRIX_PROTO, 'equivalence.Matrix');

/** equivalence.Unserved, which no server serves. */
export const unservedStub = loadStub(MATRIX_PROTO, 'equivalence.Unserved');

/** A google.protobuf.Any as the service carries it. */
export interface Detail {
  type_url: string;
  value: Buffer;
}

/** The status a request asks the server to fail with. */
export interface Failure {
  code: Status;
  message: string;
  details?: Detail[];
}

/** A request as tests write it (every field optional, as in proto3). */
export interface Request {
  payload?: Buffer;
  response_size?: number;
  response_count?: number;
  fail?: Failure | null;
  hang?: boolean;
  echo_metadata?: boolean;
  send_headers?: boolean;
  tag?: string;
  response_compression?: string;
}

/** One metadata value a handler saw. */
export interface MetadataEntry {
  key: string;
  value: string;
  binary_value: Buffer;
}

/** A reply as a server builds it. */
export interface Reply {
  payload: Buffer;
  index?: number;
  received?: number;
  metadata?: MetadataEntry[];
  has_deadline?: boolean;
  deadline_remaining_ms?: number;
}

/** Metadata as a list of pairs, repeated keys kept apart. */
export type Entries = Array<[string, string | Buffer]>;

/** The metadata the server adds to its initial metadata when echoing: a repeated ASCII key and a repeated -bin key. */
export const SERVER_HEADERS: Entries = [
  ['x-server-multi', 'one'],
  ['x-server-multi', 'two'],
  ['x-server-bin', Buffer.from([0, 1, 2, 253, 254, 255])],
  ['x-server-bin', Buffer.from('second value')],
];

/** The metadata the server adds to its trailing metadata when echoing or failing. */
export const SERVER_TRAILERS: Entries = [
  ['x-trailer-multi', 'three'],
  ['x-trailer-multi', 'four'],
  ['x-trailer-bin', Buffer.from([255, 0, 128])],
  ['x-trailer-bin', Buffer.from('fourth value')],
];

/** The payload of `size` bytes a server fills its replies with when asked for a size: a repeating, compressible pattern. */
export function fill(size: number): Buffer {
  return Buffer.alloc(size, 'equivalence-matrix/');
}

/** The user metadata (keys starting with `x-`) among received pairs. */
export function userEntries(pairs: Iterable<[string, string | Buffer]>): Entries {
  return [...pairs].filter(([key]) => key.startsWith('x-'));
}

/**
 * The initial metadata a call's first request asks for: the echoed entries and the server's
 * own keys with `echo_metadata`, none with `send_headers` alone; undefined when the server
 * should send no initial metadata of its own accord.
 */
export function initialEntries(request: Request, seen: Entries): Entries | undefined {
  if (request.echo_metadata) return [...seen, ...SERVER_HEADERS];
  return request.send_headers ? [] : undefined;
}

/**
 * The trailing metadata of a call steered by `request`: with `echo_metadata` the echoed entries,
 * then, when echoing or failing, the server's own keys.
 */
export function trailingEntries(request: Request, seen: Entries, failing: boolean): Entries {
  return [...(request.echo_metadata ? seen : []), ...(request.echo_metadata || failing ? SERVER_TRAILERS : [])];
}

/** Our Metadata from pairs. */
export function toMetadata(entries: Entries): Metadata {
  return new Metadata(entries);
}

/** The entries as reported in a reply. */
export function reportedEntries(entries: Entries): MetadataEntry[] {
  return entries.map(([key, value]) =>
    typeof value === 'string' ? { key, value, binary_value: Buffer.alloc(0) } : { key, value: '', binary_value: value },
  );
}

/** The details of a failure as google.protobuf.Any values. */
export function anyDetails(failure: Failure): AnyMessage[] {
  return (failure.details ?? []).map((detail) => ({ typeUrl: detail.type_url, value: detail.value }));
}

/** The `grpc-status-details-bin` value of a failure (a serialized google.rpc.Status), for servers that set it themselves. */
export function statusDetailsBin(failure: Failure): Buffer {
  return Buffer.from(encodeRpcStatus({ code: failure.code, message: failure.message, details: anyDetails(failure) }));
}

/** Our GrpcError for a failure, with the call's trailing metadata. */
export function grpcErrorOf(failure: Failure, trailers: Entries): GrpcError {
  return new GrpcError(failure.code, failure.message, anyDetails(failure), toMetadata(trailers));
}

/** Whether a request asks for a failure (proto3 leaves an unset message field null, or absent). */
export function failureOf(request: Request): Failure | undefined {
  return request.fail ?? undefined;
}

/**
 * Reply number `index` (from 0) to `request`: `response_size` bytes of the fill, or the request's
 * payload (or `payload`, when given); the first reply also reports the echoed metadata and the
 * deadline the handler saw (`remainingMs`, undefined without a deadline).
 */
export function replyFor(request: Request, index: number, extra: { payload?: Buffer; received?: number; seen: Entries; remainingMs: number | undefined }): Reply {
  const payload = request.response_size ? fill(request.response_size) : (extra.payload ?? request.payload ?? Buffer.alloc(0));
  // Only non-default fields are set: protobufjs encodes a zero it is given, and the limit cases count bytes.
  const reply: Reply = { payload };
  if (index !== 0) reply.index = index;
  if (extra.received) reply.received = extra.received;
  if (index === 0) {
    if (request.echo_metadata) reply.metadata = reportedEntries(extra.seen);
    if (extra.remainingMs !== undefined) {
      reply.has_deadline = true;
      reply.deadline_remaining_ms = Math.round(extra.remainingMs);
    }
  }
  return reply;
}

/** What a server tells the test about its calls. */
export interface ServerHooks {
  /** The call named `tag` was cancelled, by the client or by its deadline, as the handler observed it. */
  cancelled(tag: string): void;
  /** The handler of the call named `tag` saw the client end its request stream (a half-close, not a cancellation). */
  requestsEnded(tag: string): void;
}
