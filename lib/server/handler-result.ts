/**
 * Consuming what a handler returns: one value (a value, a Promise or an Observable) for a
 * unary response, or a sequence (Observable, AsyncIterable or Iterable) for a streamed one.
 * Consumption stops when the call's signal aborts.
 */
import { isObservable, type Observable, Subject, takeUntil } from 'rxjs';
import { GrpcError } from '../protocol/grpc-error.js';
import { Status } from '../protocol/status.js';

/** What a handler of a unary-response RPC may return. */
export type SingleResult<T> = T | Promise<T> | Observable<T>;

/** What a handler of a streaming-response RPC may return (or a Promise of it). */
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

function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

function subscribeUntilAborted<T>(source: Observable<T>, signal: AbortSignal, onValue: (value: T) => void): Promise<void> {
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

/**
 * The single response of a unary-response handler. An Observable (or a Promise of one) gives its
 * last value (as Nest does) and must emit at least one; `undefined` stands for an empty message.
 */
export async function singleValue<T>(result: SingleResult<T> | Promise<Observable<T>>, signal: AbortSignal): Promise<T> {
  const settled = await Promise.race([Promise.resolve(result), aborted(signal)]);
  if (!isObservable(settled)) return settled;
  let last: { value: T } | undefined;
  await subscribeUntilAborted(settled, signal, (value) => {
    last = { value };
  });
  if (last === undefined) throw new GrpcError(Status.INTERNAL, 'The handler completed without a response message');
  return last.value;
}

function isAsyncIterable<T>(value: unknown): value is AsyncIterable<T> {
  return typeof (value as AsyncIterable<T> | null)?.[Symbol.asyncIterator] === 'function';
}

function isIterable<T>(value: unknown): value is Iterable<T> {
  return typeof value !== 'string' && typeof (value as Iterable<T> | null)?.[Symbol.iterator] === 'function';
}

async function pull<T>(iterator: AsyncIterator<T> | Iterator<T>, sink: ValueSink<T>, signal: AbortSignal): Promise<void> {
  const stop = aborted(signal);
  stop.catch(() => undefined);
  let exhausted = false;
  try {
    for (;;) {
      const step = await Promise.race([iterator.next(), stop]);
      if (step.done) {
        exhausted = true;
        return;
      }
      sink.write(step.value);
      if (sink.needsDrain) await Promise.race([sink.drained(), stop]);
    }
  } finally {
    if (!exhausted) void Promise.resolve(iterator.return?.()).catch(() => undefined);
  }
}

/**
 * Streams a handler's result into `sink` until it completes, fails or the signal aborts.
 * Pull sources (async iterables, iterables) wait for the peer; an Observable is pushed and
 * bounded by `sink.checkBuffer()`. Rejects with the source's error or the signal's reason.
 */
export async function streamValues<T>(result: StreamResult<T> | Promise<StreamResult<T>>, sink: ValueSink<T>, signal: AbortSignal): Promise<void> {
  const source = await Promise.race([Promise.resolve(result), aborted(signal)]);
  if (isObservable(source)) {
    await subscribeUntilAborted(source, signal, (value) => {
      sink.write(value);
      sink.checkBuffer();
    });
    return;
  }
  if (isAsyncIterable<T>(source)) return pull(source[Symbol.asyncIterator](), sink, signal);
  if (isIterable<T>(source)) return pull(source[Symbol.iterator](), sink, signal);
  throw new GrpcError(Status.INTERNAL, 'The streaming handler returned neither an Observable nor an iterable');
}
