/**
 * Keepalive PINGs on one client connection.
 */
import type http2 from 'node:http2';

/**
 * Sends a PING on `session` every `intervalMs` after the previous one was answered, and
 * destroys the session when one goes unanswered for `timeoutMs`. Its timers are unref'd (they
 * do not keep the process alive); `stop()` ends it, idempotently.
 */
export class Keepalive {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly session: http2.ClientHttp2Session,
    private readonly intervalMs: number,
    private readonly timeoutMs: number,
  ) {
    this.schedule();
  }

  private schedule(): void {
    this.timer = setTimeout(() => this.ping(), this.intervalMs);
    this.timer.unref();
  }

  private ping(): void {
    const session = this.session;
    const timeout = setTimeout(() => session.destroy(new Error('keepalive ping timed out')), this.timeoutMs);
    timeout.unref();
    session.ping((error) => {
      clearTimeout(timeout);
      if (error === null && !session.destroyed && this.timer !== undefined) this.schedule();
    });
  }

  /** Stops sending PINGs. */
  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
