/**
 * The load generator's raw node:http2 plumbing: connections with generous receive windows (so
 * the client never throttles a server), gRPC request headers, and a call that collects its
 * whole response, for the answer checks.
 */
import http2 from 'node:http2';

/** Per-stream receive window the load generator advertises (4 MiB) and its connection window (32 MiB). */
const STREAM_WINDOW = 4 * 1024 * 1024;
const CONNECTION_WINDOW = 32 * 1024 * 1024;

/** Opens `count` HTTP/2 connections to 127.0.0.1:port and waits until all are connected. */
export async function connect(port: number, count: number): Promise<http2.ClientHttp2Session[]> {
  const sessions = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<http2.ClientHttp2Session>((resolve, reject) => {
          const session = http2.connect(`http://127.0.0.1:${port}`, {
            settings: { initialWindowSize: STREAM_WINDOW, enablePush: false },
            maxSessionMemory: 256,
          });
          session.once('error', reject);
          session.once('connect', () => {
            session.off('error', reject);
            session.on('error', () => undefined);
            session.setLocalWindowSize(CONNECTION_WINDOW);
            resolve(session);
          });
        }),
    ),
  );
  return sessions;
}

/** Closes every session (in-flight streams are reset). */
export function disconnect(sessions: http2.ClientHttp2Session[]): void {
  for (const session of sessions) session.destroy();
}

/** The request headers of a call to `path`; with `gzip`, the messages are gzip-compressed. */
export function requestHeaders(path: string, port: number, gzip = false): http2.OutgoingHttpHeaders {
  const headers: http2.OutgoingHttpHeaders = {
    ':method': 'POST',
    ':scheme': 'http',
    ':path': path,
    ':authority': `127.0.0.1:${port}`,
    'content-type': 'application/grpc',
    te: 'trailers',
    'user-agent': 'bench-loadgen',
  };
  if (gzip) {
    headers['grpc-encoding'] = 'gzip';
    headers['grpc-accept-encoding'] = 'gzip';
  }
  return headers;
}

/** Everything a call received. */
export interface CollectedCall {
  headers: http2.IncomingHttpHeaders;
  body: Buffer;
  trailers: http2.IncomingHttpHeaders;
  /** grpc-status from the trailers (or a trailers-only response); undefined if none came. */
  status: string | undefined;
  statusMessage: string | undefined;
}

/** Makes one call writing `body` and collects the response; rejects after `timeoutMs`. */
export function collectCall(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body: Buffer, timeoutMs = 10_000): Promise<CollectedCall> {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers);
    const chunks: Buffer[] = [];
    let responseHeaders: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const timer = setTimeout(() => {
      stream.close(http2.constants.NGHTTP2_CANCEL);
      reject(new Error(`no complete response within ${timeoutMs} ms`));
    }, timeoutMs);
    stream.on('response', (received) => {
      responseHeaders = received;
    });
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('trailers', (received) => {
      trailers = received;
    });
    stream.on('error', () => undefined);
    stream.on('close', () => {
      clearTimeout(timer);
      const statusSource = trailers['grpc-status'] !== undefined ? trailers : responseHeaders;
      resolve({
        headers: responseHeaders,
        body: Buffer.concat(chunks),
        trailers,
        status: statusSource['grpc-status'] as string | undefined,
        statusMessage: statusSource['grpc-message'] as string | undefined,
      });
    });
    stream.end(body);
  });
}

/** One received message: its compressed flag and payload. */
export interface Frame {
  compressed: boolean;
  payload: Buffer;
}

/** Splits a complete response body into its length-prefixed messages; throws on a truncated one. */
export function deframe(body: Buffer): Frame[] {
  const frames: Frame[] = [];
  let offset = 0;
  while (offset < body.length) {
    if (body.length - offset < 5) throw new Error('response body ends inside a message prefix');
    const length = body.readUInt32BE(offset + 1);
    if (body.length - offset - 5 < length) throw new Error('response body ends inside a message');
    frames.push({ compressed: body[offset] === 1, payload: body.subarray(offset + 5, offset + 5 + length) });
    offset += 5 + length;
  }
  return frames;
}
