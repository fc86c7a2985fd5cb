/**
 * `GrpcError`, the one error class of the library, and the `google.rpc.Status` codec that
 * carries rich error details in the `grpc-status-details-bin` trailer.
 */
import protobuf from 'protobufjs';
import { Metadata } from './metadata.js';
import { isStatus, Status, statusName } from './status.js';

/** A `google.protobuf.Any`: a packed message and the URL naming its type (`type.googleapis.com/google.rpc.BadRequest`). */
export interface AnyMessage {
  /** The type URL, whose last path segment is the message's full name. */
  typeUrl: string;
  /** The serialized message. */
  value: Uint8Array;
}

/**
 * A call's failure: a gRPC status code other than OK, a human-readable message, optional rich
 * details (packed `google.rpc` messages such as BadRequest) and the trailing metadata that came
 * with it. Servers throw it to answer with that status; clients reject with it. The message is
 * sent to the peer as is, so it must not hold secrets.
 */
export class GrpcError extends Error {
  /** The gRPC status code. */
  readonly code: Status;
  /** Rich error details, sent as `google.rpc.Status.details`; empty when there are none. */
  readonly details: readonly AnyMessage[];
  /** Trailing metadata sent (server) or received (client) with the status. */
  readonly metadata: Metadata;

  constructor(code: Status, message: string, details: readonly AnyMessage[] = [], metadata: Metadata = new Metadata()) {
    super(message);
    this.name = 'GrpcError';
    this.code = isStatus(code) ? code : Status.UNKNOWN;
    this.details = details;
    this.metadata = metadata;
  }

  /** The status code's name, such as `'NOT_FOUND'`. */
  get codeName(): string {
    return statusName(this.code);
  }

  override toString(): string {
    return `GrpcError: ${this.codeName}: ${this.message}`;
  }
}

const ANY_TYPE_URL = 1;
const ANY_VALUE = 2;
const STATUS_CODE = 1;
const STATUS_MESSAGE = 2;
const STATUS_DETAILS = 3;

/** The fields of a `google.rpc.Status` message. */
export interface RpcStatus {
  /** The status code; 0 is OK, any other value an error (an undefined one reads as UNKNOWN). */
  code: number;
  /** The error message, empty for none. */
  message: string;
  /** Packed detail messages (`google.rpc.BadRequest` and the like), in the order they were sent. */
  details: AnyMessage[];
}

/** Serializes a `google.rpc.Status` (code = 1, message = 2, repeated Any details = 3). */
export function encodeRpcStatus(status: RpcStatus): Uint8Array {
  const writer = protobuf.Writer.create();
  if (status.code !== 0) writer.uint32((STATUS_CODE << 3) | 0).int32(status.code);
  if (status.message !== '') writer.uint32((STATUS_MESSAGE << 3) | 2).string(status.message);
  for (const detail of status.details) {
    writer.uint32((STATUS_DETAILS << 3) | 2).fork();
    writer.uint32((ANY_TYPE_URL << 3) | 2).string(detail.typeUrl);
    writer.uint32((ANY_VALUE << 3) | 2).bytes(detail.value);
    writer.ldelim();
  }
  return writer.finish();
}

function decodeAny(reader: protobuf.Reader, end: number): AnyMessage {
  const any: AnyMessage = { typeUrl: '', value: new Uint8Array(0) };
  while (reader.pos < end) {
    const tag = reader.uint32();
    if (tag === ((ANY_TYPE_URL << 3) | 2)) any.typeUrl = reader.string();
    else if (tag === ((ANY_VALUE << 3) | 2)) any.value = reader.bytes();
    else reader.skipType(tag & 7);
  }
  return any;
}

/**
 * Parses a `google.rpc.Status`. Unknown fields are skipped; malformed bytes return `undefined`
 * rather than throwing, because the details trailer is advisory.
 */
export function decodeRpcStatus(bytes: Uint8Array): RpcStatus | undefined {
  try {
    const reader = protobuf.Reader.create(bytes);
    const status: RpcStatus = { code: 0, message: '', details: [] };
    while (reader.pos < reader.len) {
      const tag = reader.uint32();
      if (tag === ((STATUS_CODE << 3) | 0)) status.code = reader.int32();
      else if (tag === ((STATUS_MESSAGE << 3) | 2)) status.message = reader.string();
      else if (tag === ((STATUS_DETAILS << 3) | 2)) {
        const length = reader.uint32();
        status.details.push(decodeAny(reader, reader.pos + length));
      } else reader.skipType(tag & 7);
    }
    return status;
  } catch {
    return undefined;
  }
}

/**
 * The details a client may trust from a `grpc-status-details-bin` value: those of a status
 * whose code agrees with `grpc-status`. A disagreeing or undecodable status yields no details.
 */
export function detailsFromStatusTrailer(code: Status, bytes: Uint8Array | undefined): AnyMessage[] {
  if (bytes === undefined) return [];
  const status = decodeRpcStatus(bytes);
  return status !== undefined && status.code === code ? status.details : [];
}
