/**
 * Retry throttling (gRFC A6): one token bucket per client that stops retries while too many
 * calls fail.
 */
import { fieldError, numberField, objectField } from './config-fields.js';

/** `retryThrottling` of a service config, as JSON gives it. */
export interface RetryThrottlingConfig {
  /** Size of the bucket, which starts full: greater than 0, at most 1000. */
  maxTokens: number;
  /** Tokens a successful call puts back: greater than 0 (up to three decimals are kept). */
  tokenRatio: number;
}

/** Validates a `retryThrottling` object found at `path`; throws a TypeError naming the bad field. */
export function parseRetryThrottling(value: unknown, path: string): RetryThrottlingConfig {
  const json = objectField(value, path);
  const maxTokens = numberField(json.maxTokens, `${path}.maxTokens`, 0, 1000);
  const tokenRatio = Math.round(numberField(json.tokenRatio, `${path}.tokenRatio`, 0) * 1000) / 1000;
  if (tokenRatio === 0) throw fieldError(`${path}.tokenRatio`, `must be at least 0.001 (got ${json.tokenRatio})`);
  return { maxTokens, tokenRatio };
}

/**
 * The token bucket of one client. It starts with `maxTokens`; every attempt that fails with a
 * retryable status (or with pushback saying not to retry) takes one token, every successful
 * call gives back `tokenRatio`, and the count stays between 0 and `maxTokens`. Retries are
 * allowed only while the count is above `maxTokens / 2`; the first attempt of a call is never
 * held back.
 */
export class RetryThrottle {
  private tokens: number;

  constructor(private readonly config: RetryThrottlingConfig) {
    this.tokens = config.maxTokens;
  }

  /** Counts an attempt that failed with a retryable status. */
  failed(): void {
    this.tokens = Math.max(this.tokens - 1, 0);
  }

  /** Counts a call that ended OK. */
  succeeded(): void {
    this.tokens = Math.min(this.tokens + this.config.tokenRatio, this.config.maxTokens);
  }

  /** Whether a retry may start now. */
  get allowsRetry(): boolean {
    return this.tokens > this.config.maxTokens / 2;
  }
}
