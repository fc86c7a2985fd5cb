/**
 * The semantics every benchmarked server implements on nameko.example, and the protobufjs
 * codecs the load generator uses to build requests and to check answers:
 * - unary_unary echoes: `{ message: value, seqno: multiplier }`;
 * - unary_stream sends `multiplier` replies `{ message: STREAM_TEXT, seqno: i }` (~16 bytes each);
 * - stream_unary counts the requests: `{ message: '', seqno: count }`;
 * - stream_stream echoes each request as unary_unary does, as it arrives.
 */
import protobuf from 'protobufjs';
import { EXAMPLE_PROTO } from './paths.js';

/** nameko.ExampleRequest. */
export interface BenchRequest {
  value: string;
  multiplier: number;
}

/** nameko.ExampleReply. */
export interface BenchReply {
  message: string;
  seqno: number;
}

/** The text of every streamed reply: 10 bytes, so a reply is 12 + 1..4 bytes on the wire. */
export const STREAM_TEXT = '0123456789';

/** The RPC paths. */
export const PATHS = {
  unary_unary: '/nameko.example/unary_unary',
  unary_stream: '/nameko.example/unary_stream',
  stream_unary: '/nameko.example/stream_unary',
  stream_stream: '/nameko.example/stream_stream',
} as const;

/** The name of an RPC of nameko.example. */
export type Rpc = keyof typeof PATHS;

/** What the server must answer to one unary_unary or stream_stream request. */
export function echoOf(request: BenchRequest): BenchReply {
  return { message: request.value, seqno: request.multiplier };
}

/** The i-th reply of unary_stream. */
export function streamReply(seqno: number): BenchReply {
  return { message: STREAM_TEXT, seqno };
}

let types: { request: protobuf.Type; reply: protobuf.Type } | undefined;

function load(): { request: protobuf.Type; reply: protobuf.Type } {
  if (types === undefined) {
    const root = protobuf.loadSync(EXAMPLE_PROTO);
    types = { request: root.lookupType('nameko.ExampleRequest'), reply: root.lookupType('nameko.ExampleReply') };
  }
  return types;
}

/** The protobuf bytes of a request. */
export function encodeRequest(request: BenchRequest): Uint8Array {
  const { request: type } = load();
  return type.encode(type.create(request)).finish();
}

/** A reply decoded from protobuf bytes, absent fields as their defaults. */
export function decodeReply(bytes: Uint8Array): BenchReply {
  const { reply: type } = load();
  const decoded = type.toObject(type.decode(bytes), { defaults: true }) as BenchReply;
  return { message: decoded.message, seqno: decoded.seqno };
}

/** The protobuf bytes of a reply (for tests of the load generator). */
export function encodeReply(reply: BenchReply): Uint8Array {
  const { reply: type } = load();
  return type.encode(type.create(reply)).finish();
}

/** One gRPC length-prefixed message: flag byte, 4-byte big-endian length, payload. */
export function frame(payload: Uint8Array, compressed = false): Buffer {
  const framed = Buffer.allocUnsafe(5 + payload.length);
  framed[0] = compressed ? 1 : 0;
  framed.writeUInt32BE(payload.length, 1);
  framed.set(payload, 5);
  return framed;
}
