/**
 * The two ways the load generator makes unary-response calls back to back for a window
 * measurement: through node:http2 sessions (`Http2Calls`), or through the frame-level client
 * (`FrameCalls`). Both report each call's end to a `CallEnds`, which `runWindow` counts.
 */
import type http2 from 'node:http2';
import { performance } from 'node:perf_hooks';
import type { CallEnds } from './frame-connection.js';
import { FrameConnection } from './frame-connection.js';
import { RequestFrames } from './request-frames.js';

export type { CallEnds } from './frame-connection.js';

/** Calls back to back on a fixed number of slots. */
export interface WindowCalls {
  /** Calls in flight at once. */
  readonly slots: number;
  /** Starts a call on every slot; each slot starts its next call while `ends.ended` returns true. */
  start(ends: CallEnds): void;
}

function noop(): void {}

/** Calls through node:http2: `streams` slots per session, each call `session.request(headers)` + `end(body)`. */
export class Http2Calls implements WindowCalls {
  readonly slots: number;

  constructor(
    private readonly sessions: http2.ClientHttp2Session[],
    private readonly streams: number,
    private readonly headers: http2.OutgoingHttpHeaders,
    private readonly body: Buffer,
  ) {
    this.slots = sessions.length * streams;
  }

  start(ends: CallEnds): void {
    for (const session of this.sessions) for (let slot = 0; slot < this.streams; slot++) this.issue(session, ends);
  }

  private issue(session: http2.ClientHttp2Session, ends: CallEnds): void {
    if (session.destroyed || session.closed) return;
    const started = performance.now();
    let stream: http2.ClientHttp2Stream;
    try {
      stream = session.request(this.headers);
    } catch {
      return;
    }
    let status: string | undefined;
    stream.on('response', (headers) => {
      const trailersOnly = headers['grpc-status'];
      if (trailersOnly !== undefined) status = String(trailersOnly);
    });
    stream.on('data', noop);
    stream.on('trailers', (trailers) => {
      status = String(trailers['grpc-status']);
    });
    stream.on('error', noop);
    stream.on('close', () => {
      if (ends.ended(started, status)) this.issue(session, ends);
    });
    stream.end(this.body);
  }
}

/** Calls through the frame-level client: `streams` slots per connection, each call one pre-encoded request. */
export class FrameCalls implements WindowCalls {
  readonly slots: number;
  private readonly request: RequestFrames;

  constructor(
    private readonly connections: FrameConnection[],
    private readonly streams: number,
    headers: http2.OutgoingHttpHeaders,
    body: Buffer,
  ) {
    this.slots = connections.length * streams;
    this.request = new RequestFrames(headers, body);
  }

  /** Opens `count` frame-level connections to 127.0.0.1:port. */
  static connect(port: number, count: number): Promise<FrameConnection[]> {
    return Promise.all(Array.from({ length: count }, () => FrameConnection.connect(port)));
  }

  start(ends: CallEnds): void {
    for (const connection of this.connections) connection.start(this.request, this.streams, ends);
  }
}
