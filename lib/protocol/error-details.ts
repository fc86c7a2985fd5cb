/**
 * Packing of the standard `google.rpc` error detail messages (protos/google/rpc/error_details.proto)
 * into the `Any` values a GrpcError carries.
 */
import protobuf from 'protobufjs';
import type { AnyMessage } from './grpc-error.js';

/** The type URL prefix gRPC implementations use for packed detail messages. */
export const TYPE_URL_PREFIX = 'type.googleapis.com/';

/** The fields of a `google.rpc.DebugInfo`. */
export interface DebugInfo {
  stackEntries: string[];
  detail: string;
}

/** Packs a `google.rpc.DebugInfo` (repeated stack_entries = 1, detail = 2) as an Any. */
export function encodeDebugInfo(info: DebugInfo): AnyMessage {
  const writer = protobuf.Writer.create();
  for (const entry of info.stackEntries) writer.uint32((1 << 3) | 2).string(entry);
  if (info.detail !== '') writer.uint32((2 << 3) | 2).string(info.detail);
  return { typeUrl: `${TYPE_URL_PREFIX}google.rpc.DebugInfo`, value: writer.finish() };
}
