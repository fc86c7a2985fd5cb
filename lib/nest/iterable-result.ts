/**
 * Async-generator results of `@GrpcMethod` handlers, made visible to Nest's interceptors and
 * exception filters item by item, without losing their backpressure when nothing intercepts them.
 */
import { isObservable, Observable } from 'rxjs';
import { isAsyncIterable } from '../transport/value-pump.js';

/** The key under which a converted result keeps the async iterable it was made from. */
const PULL_SOURCE = Symbol('nestjs-grpc-transport:pull-source');

type PullableObservable = Observable<unknown> & { [PULL_SOURCE]: AsyncIterable<unknown> };

/**
 * An Observable of an async iterable's values. Unsubscribing stops the iteration (`return()` on
 * the iterator), so a cancelled call ends the generator; an error it throws is the Observable's
 * error, so exception filters see it.
 */
function observe(iterable: AsyncIterable<unknown>): PullableObservable {
  const observable = new Observable<unknown>((subscriber) => {
    const iterator = iterable[Symbol.asyncIterator]();
    let stopped = false;
    void (async () => {
      try {
        for (;;) {
          const step = await iterator.next();
          if (stopped) return;
          if (step.done === true) return subscriber.complete();
          subscriber.next(step.value);
        }
      } catch (error) {
        if (!stopped) subscriber.error(error);
      }
    })();
    return () => {
      stopped = true;
      void Promise.resolve()
        .then(() => iterator.return?.())
        .catch(() => undefined);
    };
  }) as PullableObservable;
  observable[PULL_SOURCE] = iterable;
  return observable;
}

/**
 * What a `@GrpcMethod` method returns, as Nest's pipeline should see it: an async iterable (an
 * async generator's result, also inside a Promise) becomes an Observable of its values, so an
 * interceptor's `map` applies to each message and `finalize` runs when the stream ends. Anything
 * else, Observables included, is returned unchanged.
 */
export function observableResult(result: unknown): unknown {
  if (result instanceof Promise) return result.then(observableResult);
  return isAsyncIterable(result) && !isObservable(result) ? observe(result) : result;
}

/**
 * The async iterable a result of {@link observableResult} was made from, when it reached the
 * transport untouched (no interceptor piped it): the transport then pulls it, which keeps the
 * client's backpressure. Undefined for anything else.
 */
export function pullSource(value: unknown): AsyncIterable<unknown> | undefined {
  return isObservable(value) ? (value as Partial<PullableObservable>)[PULL_SOURCE] : undefined;
}
