/**
 * One timer per call deadline. Node fires a `setTimeout` longer than 2^31-1 ms at once, so a
 * far deadline is waited for in clamped steps, re-armed until the wall clock reaches it.
 */
import { clampTimerDelay } from '../protocol/timeout.js';

/**
 * A deadline at a wall-clock instant (`Date.now()` milliseconds). `onExpire` runs once when it
 * passes, unless `cancel()` ran first. The timer is unref'd: a pending deadline alone does not
 * keep the process alive.
 */
export class DeadlineTimer {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly at: number,
    private readonly onExpire: () => void,
  ) {
    this.arm();
  }

  private arm(): void {
    const remaining = this.at - Date.now();
    if (remaining <= 0) {
      this.timer = undefined;
      this.onExpire();
      return;
    }
    this.timer = setTimeout(() => this.arm(), clampTimerDelay(remaining));
    this.timer.unref();
  }

  /** Stops the timer; idempotent. */
  cancel(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
