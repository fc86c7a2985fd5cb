/**
 * The single response of a unary-response handler: a value, a Promise or an Observable.
 */
import { isObservable, type Observable } from 'rxjs';
import { GrpcError } from '../protocol/grpc-error.js';
import { Status } from '../protocol/status.js';
import { aborted, subscribeUntilAborted } from '../transport/value-pump.js';
import type { CancellationSignal } from '../transport/call-cancellation.js';

/** What a handler of a unary-response RPC may return. */
export type SingleResult<T> = T | Promise<T> | Observable<T>;

/**
 * The single response of a unary-response handler. An Observable (or a Promise of one) gives its
 * last value (as Nest does) and must emit at least one; `undefined` stands for an empty message.
 */
export async function singleValue<T>(result: SingleResult<T> | Promise<Observable<T>>, signal: CancellationSignal): Promise<T> {
  const settled = await Promise.race([Promise.resolve(result), aborted(signal)]);
  if (!isObservable(settled)) return settled;
  let last: { value: T } | undefined;
  await subscribeUntilAborted(settled, signal, (value) => {
    last = { value };
  });
  if (last === undefined) throw new GrpcError(Status.INTERNAL, 'The handler completed without a response message');
  return last.value;
}
