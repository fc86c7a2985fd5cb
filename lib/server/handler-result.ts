/**
 * The single response of a unary-response handler: a value, a Promise or an Observable.
 */
import { isObservable, type Observable } from 'rxjs';
import { GrpcError } from '../protocol/grpc-error.js';
import { Status } from '../protocol/status.js';
import { subscribeUntilAborted } from '../transport/value-pump.js';
import type { CancellationSignal } from '../transport/call-cancellation.js';

/** What a handler of a unary-response RPC may return. */
export type SingleResult<T> = T | Promise<T> | Observable<T>;

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}

/** Where a single response goes: its value, or the failure. Neither method may throw. */
export interface SingleSink<T> {
  deliver(value: T): void;
  error(error: unknown): void;
}

function deliverLast<T>(source: Observable<T>, signal: CancellationSignal, sink: SingleSink<T>): void {
  let last: { value: T } | undefined;
  subscribeUntilAborted(source, signal, (value) => {
    last = { value };
  }).then(
    () => {
      if (last === undefined) sink.error(new GrpcError(Status.INTERNAL, 'The handler completed without a response message'));
      else sink.deliver(last.value);
    },
    (error: unknown) => sink.error(error),
  );
}

/**
 * Hands the single response of a unary-response handler's result to `sink.deliver`, or its
 * failure to `sink.error`: a plain value at once (synchronously, allocating nothing), a Promise
 * when it settles, an Observable (or a Promise of one) its last value (as Nest does) once it
 * completes; an Observable that completes empty is INTERNAL. An Observable is unsubscribed when
 * `signal` aborts, and the abort reason is the failure; a Promise is not raced against the
 * signal, so the sink must ignore what arrives after its call ended. `undefined` is passed on as
 * is (the sink decides that it stands for an empty message).
 */
export function deliverSingle<T>(result: SingleResult<T> | Promise<Observable<T>>, signal: CancellationSignal, sink: SingleSink<T>): void {
  if (isObservable(result)) {
    deliverLast(result, signal, sink);
    return;
  }
  if (!isThenable(result)) {
    sink.deliver(result);
    return;
  }
  result.then(
    (settled) => {
      if (isObservable(settled)) deliverLast(settled as Observable<T>, signal, sink);
      else sink.deliver(settled as T);
    },
    (error: unknown) => sink.error(error),
  );
}
