/**
 * What a server call is made from: the handler it runs, what the server learned from the
 * request headers, and the server-wide settings.
 */
import type http2 from 'node:http2';
import type { PeerCertificate } from 'node:tls';
import type { Encoding } from '../protocol/compression.js';
import type { MethodDescriptor } from '../protocol/stub.js';
import type { ErrorMapper } from './error-mapping.js';
import type { ExpiryQueue, Expirable } from './expiry-queue.js';
import type { GrpcContext } from './grpc-context.js';

/** A handler as the server calls it: the request (or the request stream) and the context. */
export type CallHandler = (request: any, context: GrpcContext) => unknown;

/** Server-wide settings a call needs. */
export interface CallSettings {
  maxReceiveMessageSize: number;
  maxSendMessageSize: number;
  /** The response encoding used when the client accepts it and the handler chose none. */
  defaultCompression: Encoding;
  /** Bytes an Observable-producing handler may get ahead of the peer before the call fails RESOURCE_EXHAUSTED. */
  maxBufferedResponseBytes: number;
  /** Where unary-request calls wait for their request message and half-close (`requestMessageTimeoutMs`), failing DEADLINE_EXCEEDED when it runs out. */
  requestTimeouts: ExpiryQueue<Expirable>;
  errors: ErrorMapper;
}

/** What the server learned from the request headers. */
export interface CallInit {
  /** A stream its ServerConnection admitted. */
  stream: http2.ServerHttp2Stream;
  method: MethodDescriptor;
  handler: CallHandler;
  /** The request's raw header list, from which the metadata is read when first asked for. */
  rawHeaders: readonly string[];
  requestEncoding: Encoding;
  acceptedEncodings: ReadonlySet<string>;
  /** The deadline as `Date.now()` milliseconds, if the client set one. */
  deadlineAt: number | undefined;
  peer: string;
  peerCertificate: PeerCertificate | undefined;
  /** Told whenever the call sends response headers, a message or its status. */
  connection: { noteResponse(): void };
}
