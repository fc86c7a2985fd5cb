/**
 * gRPC status codes as the gRPC specification (`doc/statuscodes.md`) numbers them, with the
 * tables that map an HTTP status or an HTTP/2 RST_STREAM error code to a gRPC status.
 */

/** The canonical gRPC status codes, 0 (OK) to 16 (UNAUTHENTICATED). */
export enum Status {
  /** The call succeeded. */
  OK = 0,
  /** The call was cancelled, usually by the caller (unsubscribe, `AbortSignal`, `call.cancel()`). */
  CANCELLED = 1,
  /** An error with no better code: an unexpected exception in a handler, or a status code the peer sent that is not defined. */
  UNKNOWN = 2,
  /** The request is malformed whatever the state of the system (a failed validation, a bad field). */
  INVALID_ARGUMENT = 3,
  /** The deadline passed before the call completed; the operation may still have taken effect. */
  DEADLINE_EXCEEDED = 4,
  /** A requested entity does not exist. */
  NOT_FOUND = 5,
  /** The entity the call tried to create exists already. */
  ALREADY_EXISTS = 6,
  /** The caller is known but not allowed to do this (for an unknown caller use UNAUTHENTICATED). */
  PERMISSION_DENIED = 7,
  /** A limit was hit: a quota, or a message larger than the receiver accepts. */
  RESOURCE_EXHAUSTED = 8,
  /** The system is not in the state the call needs; retrying will not help until that state is fixed. */
  FAILED_PRECONDITION = 9,
  /** The call was aborted by a concurrency conflict (a failed transaction, a sequencer check); retry at a higher level. */
  ABORTED = 10,
  /** The request went past a valid range (reading past the end of a file); unlike INVALID_ARGUMENT it may succeed once the state changes. */
  OUT_OF_RANGE = 11,
  /** The server does not implement the method or service, or does not support what the request asked (an unknown message encoding). */
  UNIMPLEMENTED = 12,
  /** An invariant the system relies on is broken: a protocol error, a message that cannot be parsed. */
  INTERNAL = 13,
  /** The service cannot be reached right now (connection refused, lost or shutting down); usually safe to retry with backoff. */
  UNAVAILABLE = 14,
  /** Unrecoverable loss or corruption of data. */
  DATA_LOSS = 15,
  /** The request carries no valid credentials. */
  UNAUTHENTICATED = 16,
}

/**
 * Whether `value` is one of the 17 defined status codes. The wire allows any integer in
 * `grpc-status`; callers treat an undefined code as UNKNOWN.
 */
export function isStatus(value: number): value is Status {
  return Number.isInteger(value) && value >= Status.OK && value <= Status.UNAUTHENTICATED;
}

/** The upper-case name of a status code (`'DEADLINE_EXCEEDED'`), or `'UNKNOWN(<n>)'` for an undefined one. */
export function statusName(code: number): string {
  return isStatus(code) ? Status[code] : `UNKNOWN(${code})`;
}

/**
 * The gRPC status a client reports for a response whose HTTP status is not 200, per
 * `doc/http-grpc-status-mapping.md`: 400 INTERNAL, 401 UNAUTHENTICATED, 403 PERMISSION_DENIED,
 * 404 UNIMPLEMENTED, 429/502/503/504 UNAVAILABLE, anything else UNKNOWN.
 */
export function statusFromHttpStatus(httpStatus: number): Status {
  switch (httpStatus) {
    case 400:
      return Status.INTERNAL;
    case 401:
      return Status.UNAUTHENTICATED;
    case 403:
      return Status.PERMISSION_DENIED;
    case 404:
      return Status.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return Status.UNAVAILABLE;
    default:
      return Status.UNKNOWN;
  }
}

/** HTTP/2 error codes (RFC 9113 section 7) that carry a meaning of their own for gRPC. */
export enum Http2ErrorCode {
  NO_ERROR = 0x0,
  PROTOCOL_ERROR = 0x1,
  INTERNAL_ERROR = 0x2,
  FLOW_CONTROL_ERROR = 0x3,
  SETTINGS_TIMEOUT = 0x4,
  STREAM_CLOSED = 0x5,
  FRAME_SIZE_ERROR = 0x6,
  REFUSED_STREAM = 0x7,
  CANCEL = 0x8,
  COMPRESSION_ERROR = 0x9,
  CONNECT_ERROR = 0xa,
  ENHANCE_YOUR_CALM = 0xb,
  INADEQUATE_SECURITY = 0xc,
  HTTP_1_1_REQUIRED = 0xd,
}

/**
 * The gRPC status for a stream reset by the peer with an HTTP/2 error code, per
 * `doc/PROTOCOL-HTTP2.md`: REFUSED_STREAM UNAVAILABLE (the call may be retried), CANCEL
 * CANCELLED, ENHANCE_YOUR_CALM RESOURCE_EXHAUSTED, INADEQUATE_SECURITY PERMISSION_DENIED,
 * every other code (NO_ERROR before trailers included) INTERNAL.
 */
export function statusFromRstCode(code: number): Status {
  switch (code) {
    case Http2ErrorCode.REFUSED_STREAM:
      return Status.UNAVAILABLE;
    case Http2ErrorCode.CANCEL:
      return Status.CANCELLED;
    case Http2ErrorCode.ENHANCE_YOUR_CALM:
      return Status.RESOURCE_EXHAUSTED;
    case Http2ErrorCode.INADEQUATE_SECURITY:
      return Status.PERMISSION_DENIED;
    default:
      return Status.INTERNAL;
  }
}
