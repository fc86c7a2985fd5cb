/**
 * `OutgoingFrames`, what the frame-level load generator writes in one event-loop turn: control
 * frames (SETTINGS ACK, PING ACK, WINDOW_UPDATE) and the requests opened that turn, which have
 * consecutive stream ids. `take()` joins them into a single buffer, so each turn costs one
 * socket write however many calls it started.
 */
import type { RequestFrames } from './request-frames.js';

/** Frames waiting for the end of the turn (see the module comment). */
export class OutgoingFrames {
  /** The request every call sends; set before the first `addRequest`. */
  request: RequestFrames | undefined;
  private control: Buffer[] = [];
  private controlBytes = 0;
  /** Requests not yet written: stream ids firstId, firstId + 2, … */
  private requests = 0;
  private firstId = 0;

  /** Adds a control frame; control frames go before the requests. */
  addControl(frame: Buffer): void {
    this.control.push(frame);
    this.controlBytes += frame.length;
  }

  /** Adds a request on `streamId`, which must be 2 more than the previous one added this turn. */
  addRequest(streamId: number): void {
    if (this.requests++ === 0) this.firstId = streamId;
  }

  /** Forgets the requests not yet written (the connection can take no new streams). */
  dropRequests(): void {
    this.requests = 0;
  }

  /** Everything added since the last call, in one buffer; undefined if nothing was. */
  take(): Buffer | undefined {
    const request = this.request;
    const requestBytes = request === undefined ? 0 : this.requests * request.length;
    if (this.controlBytes + requestBytes === 0) return undefined;
    const out = Buffer.allocUnsafe(this.controlBytes + requestBytes);
    let offset = 0;
    for (const frame of this.control) {
      frame.copy(out, offset);
      offset += frame.length;
    }
    for (let i = 0; i < this.requests; i++) {
      request!.writeTo(out, offset, this.firstId + 2 * i);
      offset += request!.length;
    }
    this.control = [];
    this.controlBytes = 0;
    this.requests = 0;
    return out;
  }
}
