/**
 * The two sides of the equivalence matrix. A ServerKind starts the Matrix service on one
 * implementation (@grpc/grpc-js, our GrpcServer, our Nest GrpcTransport); a ClientKind makes a
 * client of it on one implementation (@grpc/grpc-js, our GrpcClient, our Nest-injected client).
 * Every call settles with a uniform CallResult, so each assertion of the matrix is written once.
 */
import type { Encoding } from '../../lib/index.js';
import type { Entries, Request, ServerHooks } from './matrix-service.js';

/** A running server. */
export interface ServerAdapter {
  /** The port it listens on, on 127.0.0.1. */
  readonly port: number;
  /** Stops it at once (calls in flight are cancelled). */
  stop(): Promise<void>;
}

/** One server implementation of the Matrix service. */
export interface ServerKind {
  readonly name: string;
  /** Whether it can compress responses; the reason when it cannot. */
  readonly responseCompression: true | { lacking: string };
  /** Whether a handler can tell a request stream the client reset from one it ended (half-closed); the reason when not. */
  readonly tellsResetFromHalfClose: true | { lacking: string };
  /** Starts the service on 127.0.0.1:0, reporting to `hooks`. */
  start(hooks: ServerHooks): Promise<ServerAdapter>;
}

/** Options of one call, which every client kind expresses in its own API. */
export interface CallOptions {
  /** Request metadata, as pairs (a key may repeat). */
  metadata?: Entries;
  /** Deadline, in ms from the start of the call. */
  timeoutMs?: number;
  /** Compression of this call's requests, overriding the client's default. */
  compression?: Encoding;
  /** Cancel the call once its initial metadata arrives, or once this many response messages have. */
  cancelAfter?: 'headers' | { messages: number };
  /** Request streams: end (half-close) after the requests (default), or keep the stream open until the call ends. */
  halfClose?: boolean;
}

/** A reply as every client kind reports it: defaults filled in, bytes as Buffers. */
export interface NormalReply {
  payload: Buffer;
  index: number;
  received: number;
  /** The request metadata the handler saw, normalised as {@link NormalMetadata}. */
  metadata: NormalMetadata;
  has_deadline: boolean;
  deadline_remaining_ms: number;
}

/**
 * Metadata as the matrix compares it: keys starting with `x-` only; the values of an ASCII key
 * joined with ', ' (grpc-js joins repeated ASCII header fields on receipt, as HTTP allows; ours
 * keeps them apart); the values of a `-bin` key as a list of hex strings (both keep them apart).
 */
export type NormalMetadata = Record<string, string | string[]>;

/** How a call ended, as every client kind reports it. */
export interface CallResult {
  messages: NormalReply[];
  code: number;
  message: string;
  /** The google.rpc.Status details from `grpc-status-details-bin`, as type URL and hex value. */
  details: Array<{ typeUrl: string; value: string }>;
  headers: NormalMetadata;
  trailers: NormalMetadata;
}

/** Which RPC a unary or bidi call goes to: the served one, or one that no server implements. */
export type UnaryTarget = 'Unary' | 'Unimplemented' | 'Unserved.Unary';
export type BidiTarget = 'Bidi' | 'UnimplementedBidi';

/** A client of the Matrix service (and of Unserved). Calls never reject: failures are results. */
export interface ClientAdapter {
  unary(request: Request, options?: CallOptions, target?: UnaryTarget): Promise<CallResult>;
  serverStream(request: Request, options?: CallOptions): Promise<CallResult>;
  clientStream(requests: Request[], options?: CallOptions): Promise<CallResult>;
  bidi(requests: Request[], options?: CallOptions, target?: BidiTarget): Promise<CallResult>;
  close(): Promise<void>;
}

/** One client implementation. */
export interface ClientKind {
  readonly name: string;
  /** Whether a call can choose its own request compression; the reason when it cannot. */
  readonly perCallCompression: true | { lacking: string };
  /** Whether cancelling a call whose request stream is open resets it without half-closing it first; the reason when not. */
  readonly cancelsWithoutHalfClose: true | { lacking: string };
  /** A client of `127.0.0.1:port`, compressing requests with `compression` by default. */
  create(port: number, options?: { compression?: Encoding }): Promise<ClientAdapter>;
}

/** {@link NormalMetadata} of metadata pairs. */
export function normalMetadata(pairs: Iterable<[string, string | Buffer]>): NormalMetadata {
  const ascii = new Map<string, string[]>();
  const binary = new Map<string, string[]>();
  for (const [key, value] of pairs) {
    if (!key.startsWith('x-')) continue;
    const target = key.endsWith('-bin') ? binary : ascii;
    const values = target.get(key) ?? [];
    values.push(typeof value === 'string' ? value : Buffer.from(value).toString('hex'));
    target.set(key, values);
  }
  const result: NormalMetadata = {};
  for (const [key, values] of ascii) result[key] = values.join(', ');
  for (const [key, values] of binary) result[key] = values;
  return result;
}

/** A NormalReply from a decoded reply of any client (fields may be absent, bytes Uint8Array or Buffer). */
export function normalReply(reply: any): NormalReply {
  const entries: Array<[string, string | Buffer]> = (reply?.metadata ?? []).map((entry: any) => [
    entry.key,
    String(entry.key).endsWith('-bin') ? Buffer.from(entry.binary_value ?? []) : (entry.value ?? ''),
  ]);
  return {
    payload: Buffer.from(reply?.payload ?? []),
    index: reply?.index ?? 0,
    received: reply?.received ?? 0,
    metadata: normalMetadata(entries),
    has_deadline: reply?.has_deadline ?? false,
    deadline_remaining_ms: reply?.deadline_remaining_ms ?? 0,
  };
}

/** The CallResult details of decoded google.protobuf.Any values. */
export function normalDetails(details: ReadonlyArray<{ typeUrl: string; value: Uint8Array }>): CallResult['details'] {
  return details.map((detail) => ({ typeUrl: detail.typeUrl, value: Buffer.from(detail.value).toString('hex') }));
}
