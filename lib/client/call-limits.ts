/**
 * A call's deadline and message size limits: its own options combined with its method's
 * service config (the stricter wins).
 */
import type { CallOptions } from './client-options.js';

/** The earlier of two deadlines, the first possibly absent. */
function earlier(at: number | undefined, other: number): number {
  return at === undefined ? other : Math.min(at, other);
}

/**
 * The earliest of a call's `timeout` (from now), its `deadline` and the method config's
 * deadline (`configDeadline`), as `Date.now()` milliseconds; undefined when none is set.
 */
export function deadlineOf(options: CallOptions, configDeadline: number | undefined): number | undefined {
  let at = configDeadline;
  if (options.timeout !== undefined) at = earlier(at, Date.now() + options.timeout);
  if (options.deadline !== undefined) at = earlier(at, options.deadline instanceof Date ? options.deadline.getTime() : options.deadline);
  return at;
}

/** The lower of a client limit in bytes (-1: none) and a method config's limit (undefined: none); -1 when neither sets one. */
export function lowerLimit(client: number, config: number | undefined): number {
  if (config === undefined) return client;
  return client < 0 ? config : Math.min(client, config);
}
