/**
 * `FrameConnection`, the frame-level load generator's HTTP/2 client connection over a plain
 * `net.Socket`: it makes the same pre-encoded unary request back to back on a number of stream
 * slots and reports each call's end with its grpc-status (or why it failed). It writes once per
 * event-loop turn, all the frames that turn produced in one buffer, and reads responses with an
 * incremental frame parser and an HPACK decoder. Request bodies over 16 KiB are sent under
 * the server's flow control. Not a general HTTP/2 client: no server push, no TLS, no
 * stream-level receive flow control beyond a 2^31-1 initial window.
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { DEFAULT_WINDOW, errorName, FLAG, FRAME, FrameError, FrameParser, frameBytes, type FrameHandler, MAX_WINDOW, PREFACE, SETTING, settingsFrame, windowUpdateFrame } from './h2-frames.js';
import { HpackDecoder, HpackError, type HeaderSink } from './hpack-decoder.js';
import { OutgoingFrames } from './outgoing-frames.js';
import type { RequestFrames } from './request-frames.js';

/** Receives the end of each call; returns whether its slot should start the next call. */
export interface CallEnds {
  /**
   * A call started at `startedMs` (performance.now()) ended. `status` is its grpc-status, or
   * why it failed ("RST_STREAM CANCEL", "GOAWAY NO_ERROR", "connection closed", "HTTP 503"),
   * undefined when the stream ended without one.
   */
  ended(startedMs: number, status: string | undefined): boolean;
}

/** What the client advertises: the largest stream window, and the connection window raised to the largest. */
const RECEIVE_WINDOW = MAX_WINDOW;
/** Received DATA bytes after which the connection window is topped up again (a quarter of it). */
const REPLENISH_AT = 2 ** 29;
const SETTINGS_ACK = frameBytes(FRAME.SETTINGS, FLAG.ACK, 0);

/** A call in flight (reused once it ends). */
class Call {
  started = 0;
  status: string | undefined = undefined;
}

/** One HTTP/2 connection of the frame-level load generator (see the module comment). */
export class FrameConnection implements FrameHandler, HeaderSink {
  private readonly parser = new FrameParser(this);
  private readonly decoder = new HpackDecoder();
  private readonly calls = new Map<number, Call>();
  private readonly spare: Call[] = [];
  private readonly outgoing = new OutgoingFrames();
  private nextStreamId = 1;
  private flushScheduled = false;
  private readonly flushLater = () => this.flush();
  /** The server's SETTINGS_MAX_CONCURRENT_STREAMS. */
  private maxConcurrent = Infinity;
  /** DATA bytes received since the last connection WINDOW_UPDATE. */
  private received = 0;
  /** Slots waiting for a stream (MAX_CONCURRENT_STREAMS) or for send window. */
  private waiting = 0;
  private ends: CallEnds | undefined;
  private stopping = false;
  /** Why no new call can start (GOAWAY, closed), once that is so. */
  private failure: string | undefined;
  private closed = false;
  private ready = false;
  // A header block split over HEADERS and CONTINUATION frames.
  private blockStream = 0;
  private blockEndsStream = false;
  private blockFragments: Buffer[] = [];
  /** The call whose header block is being decoded. */
  private current: Call | undefined;

  private constructor(
    private readonly socket: net.Socket,
    private readonly onReady: (error?: Error) => void,
  ) {
    socket.setNoDelay(true);
    socket.write(Buffer.concat([PREFACE, settingsFrame([[SETTING.ENABLE_PUSH, 0], [SETTING.INITIAL_WINDOW_SIZE, RECEIVE_WINDOW]]), windowUpdateFrame(0, RECEIVE_WINDOW - DEFAULT_WINDOW)]));
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', (error) => this.close(`connection error: ${error.message}`));
    socket.on('close', () => this.close('connection closed'));
  }

  /** Connects to host:port (cleartext HTTP/2 with prior knowledge) and resolves once the server's SETTINGS arrived. */
  static connect(port: number, host = '127.0.0.1'): Promise<FrameConnection> {
    return new Promise((resolve, reject) => {
      const connection: FrameConnection = new FrameConnection(net.connect({ port, host }), (error) => (error === undefined ? resolve(connection) : reject(error)));
    });
  }

  /** Starts `slots` calls of `request`, each followed by the next one as long as `ends.ended` returns true. */
  start(request: RequestFrames, slots: number, ends: CallEnds): void {
    this.outgoing.setRequest(request);
    this.ends = ends;
    for (let slot = 0; slot < slots; slot++) this.issue();
    this.scheduleFlush();
  }

  /** Closes the connection; calls in flight end as "connection closed". */
  destroy(): void {
    this.stopping = true;
    this.socket.destroy();
  }

  private canOpen(): boolean {
    return this.calls.size < this.maxConcurrent && this.outgoing.canStart;
  }

  private issue(): void {
    if (this.failure !== undefined || this.stopping) return;
    if (!this.canOpen()) this.waiting++;
    else this.open();
  }

  private open(): void {
    const id = this.nextStreamId;
    if (id > MAX_WINDOW) {
      this.stopping = true; // stream ids used up: this connection makes no more calls
      return;
    }
    this.nextStreamId += 2;
    this.outgoing.addRequest(id);
    const call = this.spare.pop() ?? new Call();
    call.started = performance.now();
    call.status = undefined;
    this.calls.set(id, call);
  }

  /** Starts waiting slots while streams and window allow. */
  private resume(): void {
    while (this.waiting > 0 && this.failure === undefined && !this.stopping && this.canOpen()) {
      this.waiting--;
      this.open();
    }
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(this.flushLater);
  }

  /** Writes everything this turn produced in one buffer. */
  private flush(): void {
    this.flushScheduled = false;
    if (this.closed) return;
    if (this.failure !== undefined) this.outgoing.dropRequests();
    const out = this.outgoing.take();
    if (out !== undefined) this.socket.write(out);
  }

  private receive(chunk: Buffer): void {
    try {
      this.parser.push(chunk);
    } catch (error) {
      if (!(error instanceof FrameError || error instanceof HpackError)) throw error;
      this.close(`protocol error: ${error.message}`);
      return;
    }
    this.flush();
  }

  /** FrameHandler: one frame from the server. */
  frame(type: number, flags: number, streamId: number, payload: Buffer, length: number): void {
    if (this.blockStream !== 0 && type !== FRAME.CONTINUATION) throw new FrameError(`frame of type ${type} inside the header block of stream ${this.blockStream}`, 1);
    switch (type) {
      case FRAME.DATA:
        this.received += length;
        if (this.received >= REPLENISH_AT) {
          this.outgoing.addControl(windowUpdateFrame(0, this.received));
          this.received = 0;
        }
        if ((flags & FLAG.END_STREAM) !== 0) this.finish(streamId, undefined);
        break;
      case FRAME.HEADERS:
        if ((flags & FLAG.END_HEADERS) !== 0) this.headerBlock(streamId, payload, (flags & FLAG.END_STREAM) !== 0);
        else {
          this.blockStream = streamId;
          this.blockEndsStream = (flags & FLAG.END_STREAM) !== 0;
          this.blockFragments = [Buffer.from(payload)];
        }
        break;
      case FRAME.CONTINUATION:
        if (streamId !== this.blockStream) throw new FrameError(`CONTINUATION on stream ${streamId} without a header block in progress there`, 1);
        this.blockFragments.push(Buffer.from(payload));
        if ((flags & FLAG.END_HEADERS) !== 0) {
          this.blockStream = 0;
          this.headerBlock(streamId, Buffer.concat(this.blockFragments), this.blockEndsStream);
          this.blockFragments = [];
        }
        break;
      case FRAME.RST_STREAM:
        this.finish(streamId, `RST_STREAM ${errorName(payload.readUInt32BE(0))}`);
        break;
      case FRAME.SETTINGS:
        if ((flags & FLAG.ACK) === 0) this.settings(payload);
        break;
      case FRAME.PING:
        if ((flags & FLAG.ACK) === 0) this.outgoing.addControl(frameBytes(FRAME.PING, FLAG.ACK, 0, payload));
        break;
      case FRAME.GOAWAY:
        this.goaway(payload.readUInt32BE(0) & MAX_WINDOW, `GOAWAY ${errorName(payload.readUInt32BE(4))}`);
        break;
      case FRAME.WINDOW_UPDATE:
        this.windowUpdate(streamId, payload.readUInt32BE(0) & MAX_WINDOW);
        break;
      case FRAME.PUSH_PROMISE:
        throw new FrameError('PUSH_PROMISE although the client set ENABLE_PUSH to 0', 1);
      default:
      // PRIORITY and unknown types are ignored (RFC 9113 §5.5).
    }
  }

  /** HeaderSink: a decoded response header or trailer of the current call. */
  header(name: string, value: string): void {
    const call = this.current;
    if (call === undefined) return;
    if (name === 'grpc-status') call.status = value;
    else if (name === ':status' && value !== '200') call.status = `HTTP ${value}`;
  }

  private headerBlock(streamId: number, block: Buffer, endsStream: boolean): void {
    // Decoded even for a stream no longer tracked, to keep the dynamic table in step.
    this.current = this.calls.get(streamId);
    this.decoder.decode(block, this);
    this.current = undefined;
    if (endsStream) this.finish(streamId, undefined);
  }

  private settings(payload: Buffer): void {
    for (let offset = 0; offset < payload.length; offset += 6) {
      const id = payload.readUInt16BE(offset);
      const value = payload.readUInt32BE(offset + 2);
      if (id === SETTING.MAX_CONCURRENT_STREAMS) this.maxConcurrent = value;
      else if (id === SETTING.INITIAL_WINDOW_SIZE) {
        if (value > MAX_WINDOW) throw new FrameError(`SETTINGS_INITIAL_WINDOW_SIZE ${value} above 2^31-1`, 3);
        this.outgoing.setInitialWindow(value);
      } else if (id === SETTING.MAX_FRAME_SIZE) {
        if (value < 16_384 || value > 16_777_215) throw new FrameError(`SETTINGS_MAX_FRAME_SIZE ${value} out of range`, 1);
        this.outgoing.maxFrameSize = value;
      }
    }
    this.outgoing.addControl(SETTINGS_ACK);
    if (!this.ready) {
      this.ready = true;
      this.onReady();
    }
    this.resume();
  }

  private windowUpdate(streamId: number, increment: number): void {
    if (increment === 0) {
      if (streamId === 0) throw new FrameError('WINDOW_UPDATE of 0 on the connection', 1);
      return;
    }
    this.outgoing.windowUpdate(streamId, increment);
    if (streamId === 0) this.resume();
  }

  /** No new calls; calls the server did not process (above `lastStreamId`) fail with `reason`. */
  private goaway(lastStreamId: number, reason: string): void {
    this.failure ??= reason;
    for (const id of this.calls.keys()) if (id > lastStreamId) this.finish(id, reason);
  }

  /** Ends call `streamId` (if still tracked) with `reason`, or with the grpc-status it received. */
  private finish(streamId: number, reason: string | undefined): void {
    const call = this.calls.get(streamId);
    if (call === undefined) return;
    this.calls.delete(streamId);
    this.outgoing.forget(streamId);
    this.spare.push(call);
    if (this.ends!.ended(call.started, reason ?? call.status)) this.issue();
    else this.stopping = true;
    this.resume();
  }

  private close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.failure ??= reason;
    this.socket.destroy();
    if (!this.ready) this.onReady(new Error(`HTTP/2 connection failed before the server's SETTINGS: ${reason}`));
    for (const id of this.calls.keys()) this.finish(id, reason);
  }
}
