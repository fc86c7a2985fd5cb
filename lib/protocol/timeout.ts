/**
 * The `grpc-timeout` header: a positive integer of at most 8 digits and one unit letter
 * (H hours, M minutes, S seconds, m milliseconds, u microseconds, n nanoseconds).
 */

const UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 };
const TIMEOUT_PATTERN = /^(\d{1,8})([HMSmun])$/;
const MAX_DIGITS_VALUE = 99_999_999;
/** Units from finest to coarsest, as `formatTimeout` tries them. */
const FORMAT_UNITS = ['n', 'u', 'm', 'S', 'M', 'H'] as const;

/** The largest delay Node's timers accept (2^31-1 ms, about 24.8 days); longer delays fire at once. */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/**
 * Parses a `grpc-timeout` value into milliseconds (possibly fractional). Strict: anything but
 * 1–8 ASCII digits followed by exactly one unit letter returns `undefined` (`1234`, `-1S`,
 * `9a1S`, ` 1S`, 9 digits). The largest value, `99999999H`, is about 3.6e14 ms and is exact.
 */
export function parseTimeout(value: string): number | undefined {
  const match = TIMEOUT_PATTERN.exec(value);
  if (match === null) return undefined;
  return Number(match[1]) * UNIT_MS[match[2]];
}

/**
 * Formats a timeout in milliseconds as a `grpc-timeout` value, choosing the finest unit whose
 * count fits in 8 digits and rounding up so the peer never sees a shorter deadline. Negative
 * and zero timeouts become `1n` (already expired); anything beyond `99999999H` is capped there.
 */
export function formatTimeout(ms: number): string {
  if (!(ms > 0)) return '1n';
  for (const unit of FORMAT_UNITS) {
    const count = Math.ceil(ms / UNIT_MS[unit] - 1e-9);
    if (count <= MAX_DIGITS_VALUE) return `${Math.max(count, 1)}${unit}`;
  }
  return `${MAX_DIGITS_VALUE}H`;
}

/** Clamps a timer delay into what `setTimeout` honours: 0 to 2^31-1 ms. Callers re-arm a longer wait when a clamped timer fires early. */
export function clampTimerDelay(ms: number): number {
  if (!(ms > 0)) return 0;
  return Math.min(Math.ceil(ms), MAX_TIMER_DELAY_MS);
}
