/**
 * `ExpiryQueue`, one timer for many timeouts of the same length: what lets every unary call have
 * a `requestMessageTimeoutMs` without a timer of its own.
 */
import { clampTimerDelay } from '../protocol/timeout.js';

/** An entry of an ExpiryQueue: told once when its time is up. */
export interface Expirable {
  expire(): void;
}

/**
 * Items that each expire `delayMs` after they were added, unless deleted first. All items share
 * one delay, so they expire in the order they were added: a single unref'd timer, armed for the
 * oldest item, serves the whole queue (adding and deleting are O(1) and touch no timer). An
 * infinite delay never expires anything and adds nothing. Once the queue is empty its timer
 * fires at most once more and is not re-armed.
 */
export class ExpiryQueue<T extends Expirable> {
  /** Items and their due times (`Date.now()` ms), oldest first. */
  private readonly items = new Map<T, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(readonly delayMs: number) {}

  /** Starts `item`'s time; it expires after `delayMs` unless deleted. */
  add(item: T): void {
    if (!Number.isFinite(this.delayMs)) return;
    const due = Date.now() + this.delayMs;
    this.items.set(item, due);
    if (this.timer === undefined) this.arm(this.delayMs);
  }

  /** Stops `item`'s time; nothing happens if it is not queued. */
  delete(item: T): void {
    this.items.delete(item);
  }

  private arm(delay: number): void {
    this.timer = setTimeout(() => this.expireDue(), clampTimerDelay(Math.max(1, delay)));
    this.timer.unref();
  }

  private expireDue(): void {
    this.timer = undefined;
    const now = Date.now();
    for (const [item, due] of this.items) {
      if (due > now) {
        // An item's expire() may have added another and armed the timer already.
        if (this.timer === undefined) this.arm(due - now);
        return;
      }
      this.items.delete(item);
      item.expire();
    }
  }
}
