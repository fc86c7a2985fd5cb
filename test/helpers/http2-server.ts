/**
 * A bare node:http2 server for client tests that need a peer no gRPC server would be: crafted
 * status lines and header blocks, resets, streams that never answer. It counts connections and
 * records how each stream ended (its RST_STREAM code), independently of lib/.
 */
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import protobuf from 'protobufjs';
import path from 'node:path';
import { frame } from './raw-http2.js';

/** One stream as the raw server saw it. */
export interface SeenStream {
  stream: http2.ServerHttp2Stream;
  headers: http2.IncomingHttpHeaders;
  rawHeaders: string[];
  /** Resolves with the stream's RST_STREAM code (0 for a normal close) once it closes. */
  closed: Promise<number>;
}

/** A running raw HTTP/2 server. */
export interface RawServer {
  port: number;
  server: http2.Http2Server;
  /** Sessions (connections) accepted so far. */
  readonly sessions: http2.ServerHttp2Session[];
  /** Streams received so far, in order. */
  readonly streams: SeenStream[];
  /** Resolves with the next stream the server receives. */
  nextStream(): Promise<SeenStream>;
  /** Destroys every session and closes the server. */
  close(): Promise<void>;
}

/** Starts an h2c server on 127.0.0.1:0; `respond` decides what each stream gets (default: nothing, ever). */
export async function startRawServer(
  respond: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => void = () => undefined,
  settings: http2.Settings = {},
): Promise<RawServer> {
  const server = http2.createServer({ settings });
  type StreamListener = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, flags: number, rawHeaders: string[]) => void;
  const sessions: http2.ServerHttp2Session[] = [];
  const streams: SeenStream[] = [];
  const waiters: Array<(seen: SeenStream) => void> = [];
  server.on('session', (session) => {
    sessions.push(session);
    session.on('error', () => undefined);
  });
  server.on('stream', ((stream, headers, _flags, rawHeaders) => {
    stream.on('error', () => undefined);
    const closed = new Promise<number>((resolve) => stream.on('close', () => resolve(stream.rstCode ?? 0)));
    const seen: SeenStream = { stream, headers, rawHeaders, closed };
    streams.push(seen);
    waiters.shift()?.(seen);
    respond(stream, headers);
  }) as StreamListener);
  const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
  return {
    port,
    server,
    sessions,
    streams,
    nextStream: () => new Promise((resolve) => waiters.push(resolve)),
    close: () =>
      new Promise<void>((resolve) => {
        for (const session of sessions) session.destroy();
        server.close(() => resolve());
      }),
  };
}

const root = protobuf.loadSync(path.resolve('protos/example.proto'));
const ExampleReplyType = root.lookupType('nameko.ExampleReply');

/** A framed, uncompressed nameko.ExampleReply. */
export function replyFrame(message: string, seqno = 0): Buffer {
  return frame(ExampleReplyType.encode({ message, seqno }).finish());
}
