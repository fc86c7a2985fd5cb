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

function deliverLast<T>(source: Observable<T>, signal: CancellationSignal, onValue: (value: T) => void, onError: (error: unknown) => void): void {
  let last: { value: T } | undefined;
  subscribeUntilAborted(source, signal, (value) => {
    last = { value };
  }).then(() => {
    if (last === undefined) onError(new GrpcError(Status.INTERNAL, 'The handler completed without a response message'));
    else onValue(last.value);
  }, onError);
}

/**
 * Hands the single response of a unary-response handler's result to `onValue`, or its failure
 * to `onError`: a plain value at once (synchronously), a Promise when it settles, an Observable
 * (or a Promise of one) its last value (as Nest does) once it completes; an Observable that
 * completes empty is INTERNAL. An Observable is unsubscribed when `signal` aborts, and the
 * abort reason is the failure; a Promise is not raced against the signal, so the caller must
 * ignore what arrives after its call ended. `undefined` is passed on as is (the caller decides
 * that it stands for an empty message). Neither callback may throw.
 */
export function deliverSingle<T>(
  result: SingleResult<T> | Promise<Observable<T>>,
  signal: CancellationSignal,
  onValue: (value: T) => void,
  onError: (error: unknown) => void,
): void {
  if (isObservable(result)) {
    deliverLast(result, signal, onValue, onError);
    return;
  }
  if (!isThenable(result)) {
    onValue(result);
    return;
  }
  result.then((settled) => {
    if (isObservable(settled)) deliverLast(settled as Observable<T>, signal, onValue, onError);
    else onValue(settled as T);
  }, onError);
}
