/**
 * The bench service on bare node:http2 + protobufjs, with no gRPC library: the headroom
 * reference (what the platform allows), not a gRPC implementation. No deadlines, metadata,
 * limits or error handling beyond what the bench needs. Responses are never compressed.
 */
import http2 from 'node:http2';
import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import protobuf from 'protobufjs';
import { type BenchReply, type BenchRequest, echoOf, frame, PATHS, streamReply } from '../common/bench-service.js';
import { EXAMPLE_PROTO } from '../common/paths.js';

const gunzipAsync = promisify(gunzip);
const root = protobuf.loadSync(EXAMPLE_PROTO);
const Request = root.lookupType('nameko.ExampleRequest');
const Reply = root.lookupType('nameko.ExampleReply');

function encode(reply: BenchReply): Buffer {
  return frame(Reply.encode(reply).finish());
}

function decode(payload: Uint8Array): BenchRequest {
  return Request.decode(payload) as unknown as BenchRequest;
}

/** Calls `onMessage` with each request message's payload as it completes (chunks are joined only once a message is whole). */
function readMessages(stream: http2.ServerHttp2Stream, onMessage: (payload: Buffer, compressed: boolean) => void): void {
  const chunks: Buffer[] = [];
  let buffered = 0;
  let needed = 5;
  stream.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    buffered += chunk.length;
    if (buffered < needed) return;
    const data = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, buffered);
    chunks.length = 0;
    let offset = 0;
    needed = 5;
    while (data.length - offset >= 5) {
      const length = data.readUInt32BE(offset + 1);
      if (data.length - offset - 5 < length) {
        needed = 5 + length;
        break;
      }
      onMessage(data.subarray(offset + 5, offset + 5 + length), data[offset] === 1);
      offset += 5 + length;
    }
    buffered = data.length - offset;
    if (buffered > 0) chunks.push(data.subarray(offset));
  });
}

function respond(stream: http2.ServerHttp2Stream): void {
  stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
  stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
}

/** Writes `count` replies, corked in batches, waiting for 'drain' when the stream asks. */
function streamReplies(stream: http2.ServerHttp2Stream, count: number): void {
  let seqno = 0;
  const pump = (): void => {
    while (seqno < count && !stream.destroyed) {
      stream.cork();
      let writable = true;
      for (let batch = 0; batch < 256 && seqno < count && writable; batch++) writable = stream.write(encode(streamReply(seqno++)));
      stream.uncork();
      if (!writable) {
        stream.once('drain', pump);
        return;
      }
    }
    stream.end();
  };
  pump();
}

function onStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
  stream.on('error', () => undefined);
  const path = headers[':path'];
  const gzip = headers['grpc-encoding'] === 'gzip';
  if (path === PATHS.unary_unary) {
    readMessages(stream, (payload, compressed) => {
      const reply = (bytes: Uint8Array) => {
        // After an asynchronous gunzip the client may have gone (the load generator disconnects at the end of a window).
        if (stream.destroyed) return;
        respond(stream);
        stream.end(encode(echoOf(decode(bytes))));
      };
      if (compressed && gzip) gunzipAsync(payload).then(reply, () => stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR));
      else reply(payload);
    });
  } else if (path === PATHS.unary_stream) {
    readMessages(stream, (payload) => {
      respond(stream);
      streamReplies(stream, decode(payload).multiplier);
    });
  } else if (path === PATHS.stream_unary) {
    let count = 0;
    readMessages(stream, () => count++);
    stream.on('end', () => {
      respond(stream);
      stream.end(encode({ message: '', seqno: count }));
    });
  } else if (path === PATHS.stream_stream) {
    respond(stream);
    readMessages(stream, (payload) => stream.write(encode(echoOf(decode(payload)))));
    stream.on('end', () => stream.end());
  } else {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '12' }, { endStream: true });
  }
}

/** Starts it on 127.0.0.1 and a free port. */
export async function start(): Promise<{ port: number }> {
  const server = http2.createServer();
  server.on('stream', onStream);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as { port: number }).port };
}
