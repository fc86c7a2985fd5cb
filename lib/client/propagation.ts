/**
 * Context propagation: a call made while serving an incoming call inherits its deadline,
 * cancellation and chosen metadata.
 */
import { Metadata } from '../protocol/metadata.js';
import { currentCallContext } from '../server/call-scope.js';
import type { CallOptions, PropagationOptions } from './client-options.js';

/**
 * The options of a call after propagation from the incoming call in the current async scope
 * (unchanged outside one, or when `propagation` or the call's `propagate` is false). The
 * deadline becomes the earlier of the two, the signal also follows the incoming call's, and the
 * listed metadata keys are copied unless the call sets them.
 */
export function propagate(options: CallOptions, propagation: PropagationOptions | false): CallOptions {
  if (propagation === false || options.propagate === false) return options;
  const incoming = currentCallContext();
  if (incoming === undefined) return options;
  const result: CallOptions = { ...options };
  if (propagation.deadline !== false && incoming.deadline !== undefined) {
    const own = options.deadline instanceof Date ? options.deadline.getTime() : options.deadline;
    result.deadline = Math.min(own ?? Infinity, incoming.deadline.getTime());
  }
  if (propagation.cancellation !== false) {
    result.signal = options.signal === undefined ? incoming.signal : AbortSignal.any([options.signal, incoming.signal]);
  }
  const keys = propagation.metadata ?? [];
  if (keys.length > 0) {
    const metadata = options.metadata instanceof Metadata ? options.metadata.clone() : new Metadata(options.metadata);
    for (const key of keys) {
      if (metadata.has(key)) continue;
      for (const value of incoming.metadata.get(key)) metadata.add(key, value);
    }
    result.metadata = metadata;
  }
  return result;
}
