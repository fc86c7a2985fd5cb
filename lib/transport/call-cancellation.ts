/**
 * A call's cancellation: a cheap stand-in for an AbortController, made for every call. Node's
 * AbortSignal costs more to create than the rest of a small unary call's bookkeeping, so the
 * real one is made only when user code asks for it.
 */

/** The part of AbortSignal the library's own code listens to; an AbortSignal satisfies it. */
export interface CancellationSignal {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/**
 * Cancels once, with a reason. Listeners run once, in order, when it aborts (none run if it
 * already had). `signal` is a real AbortSignal that follows it, made on first access.
 */
export class CallCancellation implements CancellationSignal {
  aborted = false;
  reason: unknown = undefined;
  private listeners: Array<() => void> | undefined;
  private controller: AbortController | undefined;

  addEventListener(_type: 'abort', listener: () => void, _options?: { once?: boolean }): void {
    if (this.aborted) return;
    (this.listeners ??= []).push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const index = this.listeners?.indexOf(listener) ?? -1;
    if (index >= 0) this.listeners?.splice(index, 1);
  }

  /** Aborts with `reason`; later calls do nothing. */
  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.controller?.abort(reason);
    const listeners = this.listeners;
    if (listeners === undefined) return;
    this.listeners = undefined;
    for (const listener of listeners) listener();
  }

  /** An AbortSignal that aborts with this cancellation (already aborted if it has). */
  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }
}
