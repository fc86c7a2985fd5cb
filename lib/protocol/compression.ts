/**
 * Message compression as `doc/compression.md` describes it: the `grpc-encoding` of a message
 * stream, the `grpc-accept-encoding` list, and identity/gzip/deflate codecs on node:zlib whose
 * decompression stops at the receive limit.
 */
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { GrpcError } from './grpc-error.js';
import { Status } from './status.js';

/** The message encodings this library implements. `deflate` is the zlib format (RFC 1950), as gRPC uses it. */
export type Encoding = 'identity' | 'gzip' | 'deflate';

/** Every supported encoding, in the order advertised in `grpc-accept-encoding`. */
export const SUPPORTED_ENCODINGS: readonly Encoding[] = ['identity', 'deflate', 'gzip'];

/** The `grpc-accept-encoding` value this library sends. */
export const ACCEPT_ENCODING_HEADER = SUPPORTED_ENCODINGS.join(',');

const gzip = promisify(zlib.gzip);
const deflate = promisify(zlib.deflate);
const gunzip = promisify(zlib.gunzip) as (buf: Buffer, options: zlib.ZlibOptions) => Promise<Buffer>;
const inflate = promisify(zlib.inflate) as (buf: Buffer, options: zlib.ZlibOptions) => Promise<Buffer>;

/** Whether a string names a supported encoding. */
export function isSupportedEncoding(name: string): name is Encoding {
  return (SUPPORTED_ENCODINGS as readonly string[]).includes(name);
}

/**
 * The encoding named by a received `grpc-encoding` header. Absent means identity. An encoding
 * this library does not implement throws UNIMPLEMENTED naming it and the supported ones (the
 * server must then send `grpc-accept-encoding`).
 */
export function parseEncodingHeader(value: string | undefined): Encoding {
  if (value === undefined || value === '') return 'identity';
  const name = value.trim().toLowerCase();
  if (isSupportedEncoding(name)) return name;
  throw new GrpcError(
    Status.UNIMPLEMENTED,
    `Message compression "${value}" is not supported; supported encodings are ${ACCEPT_ENCODING_HEADER}`,
  );
}

/** Parses a `grpc-accept-encoding` list (comma-separated, whitespace and case ignored); absent means identity only. */
export function parseAcceptEncoding(value: string | undefined): Set<string> {
  const accepted = new Set<string>(['identity']);
  if (value === undefined) return accepted;
  for (const part of value.split(',')) {
    const name = part.trim().toLowerCase();
    if (name !== '') accepted.add(name);
  }
  return accepted;
}

/** Compresses one message body. Identity returns the input unchanged. */
export async function compress(encoding: Encoding, data: Uint8Array): Promise<Uint8Array> {
  switch (encoding) {
    case 'identity':
      return data;
    case 'gzip':
      return gzip(data);
    case 'deflate':
      return deflate(data);
  }
}

function isOutputTooLarge(error: unknown): boolean {
  return error instanceof RangeError || (error as { code?: string } | null)?.code === 'ERR_BUFFER_TOO_LARGE';
}

/**
 * Decompresses one message body of a stream whose `grpc-encoding` is `encoding`. Output is
 * bounded by `maxSize` bytes (-1: unbounded): inflation stops there and throws
 * RESOURCE_EXHAUSTED, so a compression bomb never allocates its full size. Corrupt data throws
 * INTERNAL. A body flagged compressed on an identity stream is a protocol error: INTERNAL.
 */
export async function decompress(encoding: Encoding, data: Buffer, maxSize: number): Promise<Buffer> {
  if (encoding === 'identity') {
    throw new GrpcError(Status.INTERNAL, 'Received a message flagged compressed, but the stream has no grpc-encoding');
  }
  const options: zlib.ZlibOptions = maxSize >= 0 ? { maxOutputLength: Math.max(maxSize, 1) } : {};
  let output: Buffer;
  try {
    output = encoding === 'gzip' ? await gunzip(data, options) : await inflate(data, options);
  } catch (error) {
    if (isOutputTooLarge(error)) {
      throw new GrpcError(Status.RESOURCE_EXHAUSTED, `Received message larger than max (decompressed beyond ${maxSize})`);
    }
    throw new GrpcError(Status.INTERNAL, `Received a message that is not valid ${encoding} data`);
  }
  if (maxSize >= 0 && output.length > maxSize) {
    throw new GrpcError(Status.RESOURCE_EXHAUSTED, `Received message larger than max (${output.length} vs. ${maxSize})`);
  }
  return output;
}
