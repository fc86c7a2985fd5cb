/**
 * A raw HTTP/2 client for tests that need to send what no gRPC client would: crafted headers,
 * hand-framed or broken message bytes. It collects the response headers, DATA, trailers and
 * the RST_STREAM code, and parses gRPC envelopes independently of lib/protocol.
 */
import http2 from 'node:http2';
import path from 'node:path';
import zlib from 'node:zlib';
import protobuf from 'protobufjs';

/** Everything that came back on one stream. */
export interface RawResponse {
  /** The first header block (the response headers, or the whole trailers-only response). */
  headers: http2.IncomingHttpHeaders;
  /** The first header block as Node's raw list `[name, value, …]` (repeated fields kept apart). */
  rawHeaders: string[];
  /** Every DATA byte received. */
  data: Buffer;
  /** The trailer block, if a separate one came. */
  trailers: http2.IncomingHttpHeaders | undefined;
  rawTrailers: string[] | undefined;
  /** The RST_STREAM code the stream closed with (0 for a normal close). */
  rstCode: number | undefined;
}

/** One gRPC length-prefixed message. */
export interface RawMessage {
  compressed: boolean;
  payload: Buffer;
}

/** Opens an h2c session to `127.0.0.1:port` and waits until it is connected. */
export function connectRaw(port: number, options: http2.SecureClientSessionOptions = {}, scheme = 'http'): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`${scheme}://127.0.0.1:${port}`, options);
    session.once('error', reject);
    session.once('connect', () => {
      session.off('error', reject);
      session.on('error', () => undefined);
      resolve(session);
    });
  });
}

/** The request headers of a well-formed gRPC call to `path`, with `extra` added (or overriding). */
export function grpcHeaders(path: string, extra: http2.OutgoingHttpHeaders = {}): http2.OutgoingHttpHeaders {
  return {
    ':method': 'POST',
    ':path': path,
    'content-type': 'application/grpc',
    te: 'trailers',
    ...extra,
  };
}

/** Frames one message: flag byte, 4-byte big-endian length, payload. `declaredLength` overrides the length field. */
export function frame(payload: Uint8Array, compressed = false, declaredLength = payload.length): Buffer {
  const out = Buffer.alloc(5 + payload.length);
  out[0] = compressed ? 1 : 0;
  out.writeUInt32BE(declaredLength, 1);
  out.set(payload, 5);
  return out;
}

const ExampleRequestType = protobuf.loadSync(path.resolve('protos/example.proto')).lookupType('nameko.ExampleRequest');

/** One framed, uncompressed `nameko.ExampleRequest` with this `value`, encoded with protobufjs (not lib/). */
export function exampleRequestFrame(value: string): Buffer {
  return frame(ExampleRequestType.encode(ExampleRequestType.fromObject({ value })).finish());
}

/** A call in progress: the stream (write more, end it, cancel it) and the response it will collect. */
export interface RawCall {
  stream: http2.ClientHttp2Stream;
  response: Promise<RawResponse>;
  /** Resolves with the first header block as soon as it arrives. */
  headers: Promise<http2.IncomingHttpHeaders>;
}

/** Starts a request without ending it. */
export function startRaw(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders): RawCall {
  const stream = session.request(headers, { endStream: false });
  stream.on('error', () => undefined);
  const chunks: Buffer[] = [];
  const result: RawResponse = { headers: {}, rawHeaders: [], data: Buffer.alloc(0), trailers: undefined, rawTrailers: undefined, rstCode: undefined };
  const headersReceived = new Promise<http2.IncomingHttpHeaders>((resolve) => {
    stream.on('response', (received: http2.IncomingHttpHeaders, _flags: number, raw: string[]) => {
      result.headers = received;
      result.rawHeaders = raw;
      resolve(received);
    });
  });
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  stream.on('trailers', (received: http2.IncomingHttpHeaders, _flags: number, raw: string[]) => {
    result.trailers = received;
    result.rawTrailers = raw;
  });
  const response = new Promise<RawResponse>((resolve) => {
    stream.on('close', () => {
      result.data = Buffer.concat(chunks);
      result.rstCode = stream.rstCode;
      resolve(result);
    });
  });
  return { stream, response, headers: headersReceived };
}

/** Sends a whole request (headers, then `body` chunks, then END_STREAM) and collects the response. */
export async function rawCall(
  session: http2.ClientHttp2Session,
  headers: http2.OutgoingHttpHeaders,
  body: Buffer | Buffer[] = [],
): Promise<RawResponse> {
  const call = startRaw(session, headers);
  for (const chunk of Array.isArray(body) ? body : [body]) call.stream.write(chunk);
  call.stream.end();
  return call.response;
}

/** The call's `grpc-status` as a number (from the trailers, or from a trailers-only response); undefined if none. */
export function grpcStatus(response: RawResponse): number | undefined {
  const value = response.trailers?.['grpc-status'] ?? response.headers['grpc-status'];
  return value === undefined ? undefined : Number(value);
}

/** The call's raw `grpc-message` (still percent-encoded). */
export function grpcMessage(response: RawResponse): string | undefined {
  const value = response.trailers?.['grpc-message'] ?? response.headers['grpc-message'];
  return value === undefined ? undefined : String(value);
}

/** Whether the response was trailers-only: one header block carrying the status, no DATA, no second block. */
export function isTrailersOnly(response: RawResponse): boolean {
  return response.headers['grpc-status'] !== undefined && response.trailers === undefined && response.data.length === 0;
}

/** Splits received DATA into gRPC messages; throws if bytes are left over. */
export function parseMessages(data: Buffer): RawMessage[] {
  const messages: RawMessage[] = [];
  let offset = 0;
  while (offset < data.length) {
    if (data.length - offset < 5) throw new Error(`Truncated message prefix at byte ${offset}`);
    const compressed = data[offset] === 1;
    const length = data.readUInt32BE(offset + 1);
    if (data.length - offset - 5 < length) throw new Error(`Truncated message body at byte ${offset}`);
    messages.push({ compressed, payload: data.subarray(offset + 5, offset + 5 + length) });
    offset += 5 + length;
  }
  return messages;
}

/** The payload of a message, decompressed with node:zlib when flagged compressed under `encoding`. */
export function inflateMessage(message: RawMessage, encoding: string | undefined): Buffer {
  if (!message.compressed) return message.payload;
  if (encoding === 'gzip') return zlib.gunzipSync(message.payload);
  if (encoding === 'deflate') return zlib.inflateSync(message.payload);
  throw new Error(`A compressed message under grpc-encoding ${String(encoding)}`);
}

/** Values of `name` in a raw header list, in order, repeated fields kept apart. */
export function rawValues(raw: readonly string[] | undefined, name: string): string[] {
  const values: string[] = [];
  if (raw === undefined) return values;
  for (let i = 0; i + 1 < raw.length; i += 2) if (raw[i].toLowerCase() === name) values.push(raw[i + 1]);
  return values;
}
