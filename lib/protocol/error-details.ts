/**
 * Packing of the standard `google.rpc` error detail messages (protos/google/rpc/error_details.proto)
 * into the `Any` values a GrpcError carries, and reading them back.
 */
import protobuf from 'protobufjs';
import { type DebugInfo, type ErrorDetailType, type ErrorDetailTypes, errorDetailType, isErrorDetailType } from './error-detail-types.js';
import type { AnyMessage } from './grpc-error.js';

/** The type URL prefix gRPC implementations use for packed detail messages. */
export const TYPE_URL_PREFIX = 'type.googleapis.com/';

/** Packs a `google.rpc.DebugInfo` (repeated stack_entries = 1, detail = 2) as an Any. */
export function encodeDebugInfo(info: DebugInfo): AnyMessage {
  const writer = protobuf.Writer.create();
  for (const entry of info.stackEntries) writer.uint32((1 << 3) | 2).string(entry);
  if (info.detail !== '') writer.uint32((2 << 3) | 2).string(info.detail);
  return { typeUrl: `${TYPE_URL_PREFIX}google.rpc.DebugInfo`, value: writer.finish() };
}

/** A detail message to pack: every field may be left out (it then has its default). */
export type DetailInit<T> = T extends readonly (infer E)[]
  ? DetailInit<E>[]
  : T extends Record<string, string>
    ? T
    : T extends object
      ? { [K in keyof T]?: DetailInit<T[K]> }
      : T;

/** A standard detail message read from an Any: its short name and its fields. */
export type UnpackedDetail = {
  [K in ErrorDetailType]: {
    /** The short name, e.g. `'BadRequest'`; checking it narrows `value`. */
    type: K;
    /** The message's fields, every one present with its default when it was unset (sub-messages excepted). */
    value: ErrorDetailTypes[K];
  };
}[ErrorDetailType];

/**
 * Packs a standard `google.rpc` detail message as the Any a GrpcError carries:
 * `new GrpcError(Status.INVALID_ARGUMENT, 'Bad name', [packDetail('BadRequest', { fieldViolations:
 * [{ field: 'name', description: 'must not be empty' }] })])`. Fields left out take their
 * defaults. Throws a TypeError for a value that does not fit the message (e.g. a string where a
 * number belongs).
 */
export function packDetail<K extends ErrorDetailType>(type: K, value: DetailInit<ErrorDetailTypes[K]>): AnyMessage {
  const messageType = errorDetailType(type);
  const invalid = messageType.verify(value as Record<string, unknown>);
  if (invalid !== null) throw new TypeError(`Invalid google.rpc.${type}: ${invalid}`);
  return { typeUrl: `${TYPE_URL_PREFIX}google.rpc.${type}`, value: messageType.encode(messageType.fromObject(value as Record<string, unknown>)).finish() };
}

/** Unset sub-messages come out of protobufjs as null; the detail types leave them out instead. */
function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) if (field !== null) out[key] = withoutNulls(field);
  return out;
}

/**
 * Reads one Any as a standard `google.rpc` detail message, recognised by the last segment of its
 * type URL whatever the prefix. Every field is present (with its default when unset), except
 * unset sub-messages. Returns undefined for other types and undecodable bytes.
 */
export function unpackDetail(any: AnyMessage): UnpackedDetail | undefined {
  const name = any.typeUrl.slice(any.typeUrl.lastIndexOf('/') + 1);
  if (!name.startsWith('google.rpc.')) return undefined;
  const type = name.slice('google.rpc.'.length);
  if (!isErrorDetailType(type)) return undefined;
  try {
    const messageType = errorDetailType(type);
    const value = messageType.toObject(messageType.decode(any.value), { longs: Number, defaults: true, arrays: true, objects: true });
    return { type, value: withoutNulls(value) } as UnpackedDetail;
  } catch {
    return undefined;
  }
}

/** Every standard detail message among `details` (a GrpcError's), in order; others are skipped. */
export function unpackDetails(details: readonly AnyMessage[]): UnpackedDetail[] {
  return details.map(unpackDetail).filter((detail): detail is UnpackedDetail => detail !== undefined);
}

/**
 * The first detail of one type among a GrpcError's details (or any Any list), or undefined:
 * `findDetail(error, 'BadRequest')?.fieldViolations`.
 */
export function findDetail<K extends ErrorDetailType>(source: { readonly details: readonly AnyMessage[] } | readonly AnyMessage[], type: K): ErrorDetailTypes[K] | undefined {
  const details = 'details' in source ? source.details : source;
  for (const detail of unpackDetails(details)) if (detail.type === type) return detail.value as ErrorDetailTypes[K];
  return undefined;
}
