/**
 * Pumping a sequence of values (an Observable, an AsyncIterable or an Iterable) into a message
 * writer: pull sources wait for the writer to drain, push sources are bounded by a buffer
 * check. Used for streamed responses on the server and streamed requests on the client; stops
 * when the call's signal aborts.
 */
import { isObservable, type Observable, Subject, takeUntil } from 'rxjs';
import { GrpcError } from '../protocol/grpc-error.js';
import { Status } from '../protocol/status.js';
import type { CancellationSignal } from './call-cancellation.js';

/** A sequence of messages: what a streaming handler returns, or what a client sends on a request stream. */
export type StreamResult<T> = Observable<T> | AsyncIterable<T> | Iterable<T>;

/** Where streamed values go, with the writer's backpressure signals. */
export interface ValueSink<T> {
  /** Writes one value; throws a GrpcError to stop the stream. */
  write(value: T): void;
  /** Whether to wait before the next write (pull sources only). */
  readonly needsDrain: boolean;
  drained(): Promise<void>;
  /** Throws a GrpcError when a push source (Observable) has out-run the peer beyond the buffer limit. */
  checkBuffer(): void;
}

/** A promise rejected with the signal's reason once it aborts (at once if it already has). */
export function aborted(signal: CancellationSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

/**
 * Subscribes to `source`, handing each value to `onValue`, until it completes (resolves), errors,
 * `onValue` throws, or the signal aborts (rejects); the source is unsubscribed in every case.
 */
export function subscribeUntilAborted<T>(source: Observable<T>, signal: CancellationSignal, onValue: (value: T) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    // takeUntil(stop) unsubscribes the source even in the middle of a synchronous emission,
    // before `subscribe` has returned a Subscription to unsubscribe with.
    const stop = new Subject<void>();
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      stop.next();
      outcome();
    };
    const onAbort = () => settle(() => reject(signal.reason));
    signal.addEventListener('abort', onAbort, { once: true });
    source.pipe(takeUntil(stop)).subscribe({
      next: (value) => {
        if (settled) return;
        try {
          onValue(value);
        } catch (error) {
          settle(() => reject(error));
        }
      },
      error: (error) => settle(() => reject(error)),
      complete: () => settle(() => resolve()),
    });
  });
}

/** Whether a value can be consumed with `for await`. */
export function isAsyncIterable<T>(value: unknown): value is AsyncIterable<T> {
  return typeof (value as AsyncIterable<T> | null)?.[Symbol.asyncIterator] === 'function';
}

function isIterable<T>(value: unknown): value is Iterable<T> {
  return typeof value !== 'string' && typeof (value as Iterable<T> | null)?.[Symbol.iterator] === 'function';
}

/** How many values a synchronous iterator may give in one go before the pump yields to the event loop. */
const SYNC_BURST = 256;

/**
 * Pulls an iterator into the sink, waiting for the sink to drain. A synchronous iterator is read
 * in bursts without a promise per value (yielding to the event loop every {@link SYNC_BURST}
 * values, so a closed stream is noticed). One abort listener serves the whole loop and rejects
 * only the step in progress: racing each step against a promise that lives as long as the call
 * would keep every message reachable until the call ends.
 */
async function pull<T>(iterator: AsyncIterator<T> | Iterator<T>, synchronous: boolean, sink: ValueSink<T>, signal: CancellationSignal): Promise<void> {
  if (signal.aborted) throw signal.reason;
  let rejectStep: ((reason: unknown) => void) | undefined;
  const onAbort = () => rejectStep?.(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  const step = <R>(pending: R | Promise<R>): Promise<R> =>
    new Promise<R>((resolve, reject) => {
      rejectStep = reject;
      Promise.resolve(pending).then(resolve, reject);
    });
  let exhausted = false;
  let burst = 0;
  try {
    for (;;) {
      if (synchronous && ++burst === SYNC_BURST) {
        burst = 0;
        await step(undefined);
      }
      if (signal.aborted) throw signal.reason;
      const next = synchronous ? (iterator as Iterator<T>).next() : await step(iterator.next());
      if (next.done) {
        exhausted = true;
        return;
      }
      sink.write(next.value);
      if (sink.needsDrain) await step(sink.drained());
    }
  } finally {
    rejectStep = undefined;
    signal.removeEventListener('abort', onAbort);
    if (!exhausted) void Promise.resolve(iterator.return?.()).catch(() => undefined);
  }
}

/**
 * Streams a sequence (or a Promise of one) into `sink` until it completes, fails or the signal aborts.
 * Pull sources (async iterables, iterables) wait for the peer; an Observable is pushed and
 * bounded by `sink.checkBuffer()`. Rejects with the source's error or the signal's reason.
 */
export async function streamValues<T>(result: StreamResult<T> | Promise<StreamResult<T>>, sink: ValueSink<T>, signal: CancellationSignal): Promise<void> {
  const source = await Promise.race([Promise.resolve(result), aborted(signal)]);
  if (isObservable(source)) {
    await subscribeUntilAborted(source, signal, (value) => {
      sink.write(value);
      sink.checkBuffer();
    });
    return;
  }
  if (isAsyncIterable<T>(source)) return pull(source[Symbol.asyncIterator](), false, sink, signal);
  if (isIterable<T>(source)) return pull(source[Symbol.iterator](), true, sink, signal);
  throw new GrpcError(Status.INTERNAL, 'Expected an Observable, an AsyncIterable or an Iterable of messages');
}
