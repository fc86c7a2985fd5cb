/**
 * The addresses of one target over time: resolved when first needed, re-resolved on request
 * (a lost connection, a failed attempt) and at an interval, never more often than a minimum
 * interval allows.
 */
import { MAX_TIMER_DELAY_MS } from '../protocol/timeout.js';
import { backoffDelayMs } from './backoff.js';
import type { BackoffOptions } from './client-options.js';
import { resolveDns } from './dns-resolver.js';
import type { Address, Target } from './target.js';

/** When a resolver resolves again. */
export interface ResolutionSettings {
  /** Re-resolve this long after a successful resolution. */
  refreshIntervalMs: number;
  /** The least time between the starts of two resolutions (requests in between are deferred, not dropped). */
  minIntervalMs: number;
  /** Retry delays after failed resolutions (they also respect `minIntervalMs`). */
  backoff: Required<BackoffOptions>;
}

/**
 * The addresses of one target. A static target (IP literals, `ipv4:`/`ipv6:` lists, unix
 * sockets) has its addresses from the start and never resolves. A DNS target resolves on
 * `start()`; a failure keeps the previous addresses (there are none before the first success)
 * and is retried with backoff. `onUpdate` runs after every resolution, successful or not.
 */
export class NameResolver {
  /** The latest addresses; undefined until the first successful resolution. */
  addresses: Address[] | undefined;
  /** Why the latest resolution failed; undefined after a success. */
  error: string | undefined;
  private resolving = false;
  private started = false;
  private closed = false;
  private lastStart = -Infinity;
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerDue = Infinity;

  constructor(
    readonly target: Target,
    private readonly settings: ResolutionSettings,
    private readonly onUpdate: () => void,
  ) {
    if (target.kind === 'static') this.addresses = target.addresses;
  }

  /** Whether the first resolution is still to finish: calls wait for it rather than fail. */
  get pending(): boolean {
    return this.target.kind === 'dns' && this.addresses === undefined && this.error === undefined;
  }

  /** Resolves for the first time, unless that has been done. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.schedule(0);
  }

  /** Resolves again as soon as the minimum interval allows (a no-op for static targets and before `start`). */
  refresh(): void {
    if (this.started && !this.resolving) this.schedule(0);
  }

  /** Stops resolving. Idempotent. */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Resolves after `delayMs` and no sooner than the minimum interval; an earlier schedule wins. */
  private schedule(delayMs: number): void {
    if (this.closed || this.target.kind !== 'dns') return;
    const due = Math.max(Date.now() + delayMs, this.lastStart + this.settings.minIntervalMs);
    if (this.timer !== undefined && this.timerDue <= due) return;
    clearTimeout(this.timer);
    this.timerDue = due;
    this.timer = setTimeout(() => void this.resolve(), Math.min(due - Date.now(), MAX_TIMER_DELAY_MS));
    this.timer.unref();
  }

  private async resolve(): Promise<void> {
    const target = this.target;
    this.timer = undefined;
    if (this.closed || target.kind !== 'dns') return;
    this.resolving = true;
    this.lastStart = Date.now();
    let delay: number;
    try {
      this.addresses = await resolveDns(target);
      this.error = undefined;
      this.failures = 0;
      delay = this.settings.refreshIntervalMs;
    } catch (error) {
      this.error = (error as Error).message;
      delay = backoffDelayMs(this.settings.backoff, this.failures++);
    }
    this.resolving = false;
    if (this.closed) return;
    this.schedule(delay);
    this.onUpdate();
  }
}
