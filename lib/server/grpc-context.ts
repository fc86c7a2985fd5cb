/**
 * `GrpcContext`, what a handler gets as its second argument: the call's metadata, peer,
 * deadline and cancellation, and the controls for what goes back (initial and trailing
 * metadata, status without throwing, compression).
 */
import type { PeerCertificate } from 'node:tls';
import type { Encoding } from '../protocol/compression.js';
import { Metadata } from '../protocol/metadata.js';
import type { Status } from '../protocol/status.js';
import type { CallCancellation } from '../transport/call-cancellation.js';

/** The part of a server call the context steers; implemented by the server's call object. */
export interface CallControl {
  sendInitialMetadata(metadata: Metadata): void;
  readonly headersSent: boolean;
  setResponseEncoding(encoding: Encoding): void;
  setMessageCompression(enabled: boolean): void;
  readonly acceptedEncodings: ReadonlySet<string>;
}

/** What the server knows of a call when it builds the context. */
export interface ContextInit {
  /** The request's raw header list (name, value, name, value…); the metadata is read from it when first asked for. */
  rawHeaders: readonly string[];
  path: string;
  peer: string;
  /** The deadline as `Date.now()` milliseconds, if the client set one. */
  deadlineAt: number | undefined;
  cancellation: CallCancellation;
  peerCertificate: PeerCertificate | undefined;
  control: CallControl;
}

const TRAILING = Symbol('trailingMetadata');

/**
 * The trailing metadata of a call as the server sends it: undefined while the handler has neither
 * read nor replaced `trailingMetadata` (no Metadata is made for the many calls that send none).
 */
export function trailingMetadataOf(context: GrpcContext): Metadata | undefined {
  return context[TRAILING];
}

/**
 * One call's context, as nameko-grpc's context object. `signal` aborts when the client cancels,
 * the deadline passes or the server shuts down; its `reason` is a GrpcError saying which.
 * `setCode`/`setMessage` choose the status of a call that returns normally (default OK);
 * a thrown error overrides them.
 */
export class GrpcContext {
  /** The method path, `/package.Service/Method`. */
  readonly path: string;
  /** The client's address, `host:port` (IPv6 in brackets). */
  readonly peer: string;
  /** The client's TLS certificate, when it presented one that chains to the server's `ca` (an unverified certificate is never shown). */
  readonly peerCertificate: PeerCertificate | undefined;

  /** The status code a normal return ends with; see `setCode`. */
  code: Status | undefined;
  /** The status message a normal return ends with; see `setMessage`. */
  statusMessage = '';

  /** @internal Made on first use. */
  [TRAILING]: Metadata | undefined;
  private readonly rawHeaders: readonly string[];
  private receivedMetadata: Metadata | undefined;
  private readonly deadlineAt: number | undefined;
  private deadlineDate: Date | undefined;
  private readonly control: CallControl;
  private readonly cancellation: CallCancellation;

  constructor(init: ContextInit) {
    this.rawHeaders = init.rawHeaders;
    this.path = init.path;
    this.peer = init.peer;
    this.deadlineAt = init.deadlineAt;
    this.cancellation = init.cancellation;
    this.peerCertificate = init.peerCertificate;
    this.control = init.control;
    this[TRAILING] = undefined;
    this.receivedMetadata = undefined;
    this.deadlineDate = undefined;
  }

  /** The request metadata, exactly as sent (repeated keys kept, `-bin` values as Buffers). */
  get metadata(): Metadata {
    return (this.receivedMetadata ??= Metadata.fromRawHeaders(this.rawHeaders));
  }

  /** When the client's deadline passes, or undefined when it set none. */
  get deadline(): Date | undefined {
    if (this.deadlineAt === undefined) return undefined;
    return (this.deadlineDate ??= new Date(this.deadlineAt));
  }

  /** The metadata sent in the trailers; add to it or replace it (assign, or `setTrailingMetadata`). */
  get trailingMetadata(): Metadata {
    return (this[TRAILING] ??= new Metadata());
  }

  /** Replaces the trailing metadata, as `setTrailingMetadata` does. */
  set trailingMetadata(metadata: Metadata) {
    this[TRAILING] = metadata;
  }

  /** Aborted when the call ends abnormally: cancelled by the client, past its deadline, or cut by shutdown. */
  get signal(): AbortSignal {
    return this.cancellation.signal;
  }

  /** Whether the call was cancelled (by the client, its deadline or shutdown). */
  get cancelled(): boolean {
    return this.cancellation.aborted;
  }

  /** Milliseconds left before the deadline (Infinity without one; 0 once past). */
  get timeRemaining(): number {
    return this.deadlineAt === undefined ? Infinity : Math.max(0, this.deadlineAt - Date.now());
  }

  /** The encodings the client accepts for responses (`grpc-accept-encoding`, identity always included). */
  get acceptedEncodings(): ReadonlySet<string> {
    return this.control.acceptedEncodings;
  }

  /** Sends the response headers now with this initial metadata. Allowed once, before the first message; throws otherwise. */
  sendInitialMetadata(metadata: Metadata): void {
    if (this.control.headersSent) throw new Error('Initial metadata was already sent for this call');
    this.control.sendInitialMetadata(metadata);
  }

  /** Replaces the trailing metadata. */
  setTrailingMetadata(metadata: Metadata): void {
    this[TRAILING] = metadata;
  }

  /** Sets the status a normal return ends with (as nameko-grpc's `context.set_code`). */
  setCode(code: Status): void {
    this.code = code;
  }

  /** Sets the status message a normal return ends with. */
  setMessage(message: string): void {
    this.statusMessage = message;
  }

  /**
   * Compresses this call's responses with `encoding`, if the client accepts it (otherwise they
   * go uncompressed). Must be called before the response headers are sent.
   */
  setCompression(encoding: Encoding): void {
    if (this.control.headersSent) throw new Error('Response compression must be chosen before the response headers are sent');
    this.control.setResponseEncoding(encoding);
  }

  /** Turns compression of the following response messages off or back on (per-message compression, as the interop tests use it). */
  setMessageCompression(enabled: boolean): void {
    this.control.setMessageCompression(enabled);
  }
}
