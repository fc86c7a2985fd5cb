/**
 * `OutgoingFrames`, the send side of a frame-level load-generator connection: what it writes
 * in one event-loop turn, and send flow control. A turn's output is its control frames
 * (SETTINGS ACK, PING ACK, WINDOW_UPDATE), then the requests opened that turn (consecutive
 * stream ids), then DATA frames of request bodies too large to go inline, as far as the
 * connection and stream send windows allow. `take()` joins them into one buffer, so each turn
 * costs one socket write however many calls it started.
 */
import { DEFAULT_WINDOW, FLAG, FRAME, FRAME_HEADER_SIZE, FrameError, MAX_WINDOW, writeFrameHeader } from './h2-frames.js';
import type { RequestFrames } from './request-frames.js';

/** A request body being sent in pieces. */
interface BodyState {
  sent: number;
  /** The stream's send window. */
  window: number;
}

/** The send side of one connection (see the module comment). */
export class OutgoingFrames {
  /** The connection's send window. */
  private sendWindow = DEFAULT_WINDOW;
  /** The server's SETTINGS_INITIAL_WINDOW_SIZE and SETTINGS_MAX_FRAME_SIZE. */
  private initialWindow = DEFAULT_WINDOW;
  maxFrameSize = 16_384;
  private request: RequestFrames | undefined;
  /** Whether request bodies go inline, in the DATA frame after the HEADERS. */
  private inline = true;
  private control: Buffer[] = [];
  private controlBytes = 0;
  /** Requests not yet written: stream ids firstId, firstId + 2, … */
  private requests = 0;
  private firstId = 0;
  /** Bodies sent under flow control, by stream id, in the order their streams opened. */
  private readonly bodies = new Map<number, BodyState>();
  /** This turn's pieces of those bodies, as flat (stream id, body offset, length) triples. */
  private readonly pieces: number[] = [];

  /** Sets the request every call sends. Its body goes inline if it fits one frame and the server's initial stream window. */
  setRequest(request: RequestFrames): void {
    this.request = request;
    this.inline = request.canInline && request.body.length <= Math.min(this.initialWindow, this.maxFrameSize);
  }

  /** Whether flow control lets a new request start now (an inline body must fit the windows whole). */
  get canStart(): boolean {
    const length = this.request?.body.length ?? 0;
    return !this.inline || (this.sendWindow >= length && this.initialWindow >= length);
  }

  /** Adds a control frame; control frames go first. */
  addControl(frame: Buffer): void {
    this.control.push(frame);
    this.controlBytes += frame.length;
  }

  /** Adds a request on `streamId`, which must be 2 more than the previous one added this turn. */
  addRequest(streamId: number): void {
    if (this.requests++ === 0) this.firstId = streamId;
    if (this.inline) this.sendWindow -= this.request!.body.length;
    else this.bodies.set(streamId, { sent: 0, window: this.initialWindow });
  }

  /** Forgets the requests not yet written (the connection can take no new streams). */
  dropRequests(): void {
    for (let i = 0; i < this.requests; i++) this.bodies.delete(this.firstId + 2 * i);
    this.requests = 0;
  }

  /** Stops sending the body of a stream that ended. */
  forget(streamId: number): void {
    this.bodies.delete(streamId);
  }

  /** A WINDOW_UPDATE from the server; throws a FrameError if the connection window overflows. */
  windowUpdate(streamId: number, increment: number): void {
    if (streamId !== 0) {
      const body = this.bodies.get(streamId);
      if (body !== undefined) body.window += increment;
      return;
    }
    this.sendWindow += increment;
    if (this.sendWindow > MAX_WINDOW) throw new FrameError('the connection send window exceeds 2^31-1', 3);
  }

  /** The server's new SETTINGS_INITIAL_WINDOW_SIZE: open streams' windows move by the difference (RFC 9113 §6.9.2). */
  setInitialWindow(value: number): void {
    for (const body of this.bodies.values()) body.window += value - this.initialWindow;
    this.initialWindow = value;
  }

  /** Everything this turn produced, in one buffer; undefined if nothing. */
  take(): Buffer | undefined {
    const request = this.request;
    const requestLength = request === undefined ? 0 : request.length(this.inline);
    const dataBytes = this.planPieces();
    const total = this.controlBytes + this.requests * requestLength + dataBytes;
    if (total === 0) return undefined;
    const out = Buffer.allocUnsafe(total);
    let offset = 0;
    for (const frame of this.control) {
      frame.copy(out, offset);
      offset += frame.length;
    }
    for (let i = 0; i < this.requests; i++) {
      request!.writeTo(out, offset, this.firstId + 2 * i, this.inline);
      offset += requestLength;
    }
    const pieces = this.pieces;
    for (let i = 0; i < pieces.length; i += 3) {
      const start = pieces[i + 1];
      const length = pieces[i + 2];
      const body = request!.body;
      writeFrameHeader(out, offset, length, FRAME.DATA, start + length === body.length ? FLAG.END_STREAM : 0, pieces[i]);
      body.copy(out, offset + FRAME_HEADER_SIZE, start, start + length);
      offset += FRAME_HEADER_SIZE + length;
    }
    this.control = [];
    this.controlBytes = 0;
    this.requests = 0;
    return out;
  }

  /** Plans this turn's DATA frames of the bodies under flow control, as far as the windows allow, oldest stream first; returns their size on the wire. */
  private planPieces(): number {
    this.pieces.length = 0;
    if (this.bodies.size === 0) return 0;
    const size = this.request!.body.length;
    let bytes = 0;
    for (const [streamId, state] of this.bodies) {
      while (state.sent < size && state.window > 0 && this.sendWindow > 0) {
        const length = Math.min(size - state.sent, this.maxFrameSize, state.window, this.sendWindow);
        this.pieces.push(streamId, state.sent, length);
        bytes += FRAME_HEADER_SIZE + length;
        state.sent += length;
        state.window -= length;
        this.sendWindow -= length;
      }
      if (state.sent === size) this.bodies.delete(streamId);
      if (this.sendWindow <= 0) break;
    }
    return bytes;
  }
}
