/**
 * Delays between failed attempts, as gRPC's connection-backoff document describes them.
 */
import type { BackoffOptions } from './client-options.js';

/**
 * The delay before the next attempt after `failures` failures in a row (0 for the first
 * failure): `initialMs × multiplier^failures`, capped at `maxMs`, then spread by ± `jitter`.
 */
export function backoffDelayMs(backoff: Required<BackoffOptions>, failures: number): number {
  const base = Math.min(backoff.initialMs * backoff.multiplier ** failures, backoff.maxMs);
  return base * (1 + backoff.jitter * (Math.random() * 2 - 1));
}
