/**
 * Subscribing to a request Observable when the call starts rather than when its stream opens,
 * so a hot source (a Subject fed right after the call) loses nothing while the call connects.
 */
import { Observable, type ObservableNotification, type Subscriber } from 'rxjs';
import type { CancellationSignal } from '../transport/call-cancellation.js';

function deliver<T>(subscriber: Subscriber<T>, notification: ObservableNotification<T>): void {
  if (notification.kind === 'N') subscriber.next(notification.value);
  else if (notification.kind === 'E') subscriber.error(notification.error);
  else subscriber.complete();
}

/**
 * Subscribes to `source` at once and holds what it emits until the returned Observable's one
 * subscriber takes it; from then on values pass straight through. The held values are bounded
 * only by what the source emits before the call's stream opens (the call then writes them,
 * under its buffered-bytes limit). Aborting `signal`, or the subscriber unsubscribing,
 * unsubscribes from `source`.
 */
export function subscribeNow<T>(source: Observable<T>, signal: CancellationSignal): Observable<T> {
  const held: ObservableNotification<T>[] = [];
  let target: Subscriber<T> | undefined;
  const push = (notification: ObservableNotification<T>) => (target === undefined ? held.push(notification) : deliver(target, notification));
  const subscription = source.subscribe({
    next: (value) => push({ kind: 'N', value }),
    error: (error: unknown) => push({ kind: 'E', error }),
    complete: () => push({ kind: 'C' }),
  });
  if (signal.aborted) subscription.unsubscribe();
  else signal.addEventListener('abort', () => subscription.unsubscribe(), { once: true });
  return new Observable<T>((subscriber) => {
    for (const notification of held.splice(0)) {
      if (subscriber.closed) break;
      deliver(subscriber, notification);
    }
    if (!subscriber.closed) target = subscriber;
    return () => {
      target = undefined;
      subscription.unsubscribe();
    };
  });
}
