/**
 * A method's retry policy (gRFC A6): how many attempts, the randomized exponential backoff
 * between them, which status codes are retried, and the server's pushback.
 */
import type { Status } from '../protocol/status.js';
import { clampTimerDelay } from '../protocol/timeout.js';
import type { CancellationSignal } from '../transport/call-cancellation.js';
import { arrayField, durationField, fieldError, integerField, numberField, objectField, statusCodeField } from './config-fields.js';

/** The most attempts a retry policy may ask for; a larger `maxAttempts` counts as this (as in every gRPC client). */
export const MAX_ATTEMPTS_LIMIT = 5;

/** `retryPolicy` of a method config, as JSON gives it. */
export interface RetryPolicyConfig {
  /** Attempts including the first one: at least 2; more than 5 counts as 5. */
  maxAttempts: number;
  /** Backoff ceiling before the first retry, a Duration like `"0.1s"` (greater than 0). */
  initialBackoff: string;
  /** Largest backoff ceiling, a Duration (greater than 0). */
  maxBackoff: string;
  /** Growth of the ceiling per retry (greater than 0). */
  backoffMultiplier: number;
  /** Codes that are retried, by name (`"UNAVAILABLE"`) or number; at least one. */
  retryableStatusCodes: ReadonlyArray<keyof typeof Status | number>;
}

/** A validated retry policy, durations in milliseconds. */
export interface RetryPolicy {
  /** Attempts including the first, 2 to {@link MAX_ATTEMPTS_LIMIT}. */
  readonly maxAttempts: number;
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  readonly backoffMultiplier: number;
  readonly retryableStatusCodes: ReadonlySet<Status>;
}

/** Validates a `retryPolicy` object found at `path`; throws a TypeError naming the bad field. */
export function parseRetryPolicy(value: unknown, path: string): RetryPolicy {
  const json = objectField(value, path);
  const codes = arrayField(json.retryableStatusCodes, `${path}.retryableStatusCodes`);
  if (codes.length === 0) throw fieldError(`${path}.retryableStatusCodes`, 'must name at least one status code');
  return {
    maxAttempts: Math.min(integerField(json.maxAttempts, `${path}.maxAttempts`, 2), MAX_ATTEMPTS_LIMIT),
    initialBackoffMs: durationField(json.initialBackoff, `${path}.initialBackoff`, false),
    maxBackoffMs: durationField(json.maxBackoff, `${path}.maxBackoff`, false),
    backoffMultiplier: numberField(json.backoffMultiplier, `${path}.backoffMultiplier`, 0),
    retryableStatusCodes: new Set(codes.map((code, i) => statusCodeField(code, `${path}.retryableStatusCodes[${i}]`))),
  };
}

/**
 * The backoff of one call's retries: the n-th retry waits a random time between 0 and
 * min(initialBackoff × multiplier^(n-1), maxBackoff). A retry made after server pushback waits
 * exactly the pushback, and the next backoff starts again from initialBackoff.
 */
export class RetryBackoff {
  private ceilingMs: number;

  constructor(private readonly policy: RetryPolicy) {
    this.ceilingMs = policy.initialBackoffMs;
  }

  /** The delay before the next retry: `pushbackMs` when the server gave one, else a random backoff. */
  nextDelayMs(pushbackMs: number | undefined): number {
    if (pushbackMs !== undefined) {
      this.ceilingMs = this.policy.initialBackoffMs;
      return pushbackMs;
    }
    const delay = Math.random() * Math.min(this.ceilingMs, this.policy.maxBackoffMs);
    this.ceilingMs = Math.min(this.ceilingMs * this.policy.backoffMultiplier, this.policy.maxBackoffMs);
    return delay;
  }
}

/** Waits `ms` (clamped to 2^31-1) before a retry: resolves true, or false at once when `signal` aborts (the call was cancelled or its deadline passed). */
export function waitBeforeRetry(ms: number, signal: CancellationSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, clampTimerDelay(ms));
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** The trailer a server sets to say when to retry (non-negative milliseconds) or not to retry (anything else). */
export const PUSHBACK_HEADER = 'grpc-retry-pushback-ms';

/** A non-negative 32-bit integer without leading zeros, as A6 defines pushback. */
const PUSHBACK_VALUE = /^(?:0|[1-9]\d{0,9})$/;

/**
 * The server's pushback, from the value of its `grpc-retry-pushback-ms` trailer: undefined when
 * there is none, milliseconds to wait for a non-negative integer (at most 2^31-1), and `'stop'`
 * (do not retry) for a negative or unparseable value.
 */
export function pushbackOf(value: string | number | readonly string[] | undefined): number | 'stop' | undefined {
  const text = Array.isArray(value) ? value[0] : value === undefined ? undefined : String(value);
  if (text === undefined) return undefined;
  const trimmed = text.trim();
  if (!PUSHBACK_VALUE.test(trimmed) || Number(trimmed) > 0x7fffffff) return 'stop';
  return Number(trimmed);
}
