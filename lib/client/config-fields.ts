/**
 * Checks for the fields of a service config given as JSON: each returns the value in the form
 * the client uses, or throws a TypeError naming the field's path (`methodConfig[0].timeout`)
 * and what was wrong with it.
 */
import { Status } from '../protocol/status.js';

/** The longest Duration protobuf allows: 10 000 years, in seconds. */
const MAX_DURATION_SECONDS = 315_576_000_000;

/** A proto3 JSON Duration: seconds with up to 9 fractional digits and an `s` (`"1.5s"`, `"0.100s"`, `".1s"`). */
const DURATION = /^(-?)(\d*)(?:\.(\d{1,9}))?s$/;

/** A TypeError for the field at `path`. */
export function fieldError(path: string, problem: string): TypeError {
  return new TypeError(`Invalid service config: ${path} ${problem}`);
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return 'an array';
  return value === null ? 'null' : typeof value === 'object' ? 'an object' : String(value);
}

/** A plain object (not null, not an array). */
export function objectField(value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw fieldError(path, `must be an object (got ${describe(value)})`);
  return value as Record<string, unknown>;
}

/** An array. */
export function arrayField(value: unknown, path: string): unknown[] {
  if (!Array.isArray(value)) throw fieldError(path, `must be an array (got ${describe(value)})`);
  return value;
}

/** A boolean. */
export function booleanField(value: unknown, path: string): boolean {
  if (typeof value !== 'boolean') throw fieldError(path, `must be true or false (got ${describe(value)})`);
  return value;
}

/** A string. */
export function stringField(value: unknown, path: string): string {
  if (typeof value !== 'string') throw fieldError(path, `must be a string (got ${describe(value)})`);
  return value;
}

/** A finite number above `min` (exclusive) and at most `max`. */
export function numberField(value: unknown, path: string, min: number, max = Infinity): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= min || value > max) {
    const range = max === Infinity ? `greater than ${min}` : `greater than ${min} and at most ${max}`;
    throw fieldError(path, `must be a number ${range} (got ${describe(value)})`);
  }
  return value;
}

/** An integer of at least `min`. */
export function integerField(value: unknown, path: string, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) throw fieldError(path, `must be an integer of at least ${min} (got ${describe(value)})`);
  return value;
}

/**
 * Milliseconds in a proto3 JSON Duration (`"1.5s"` is 1500): seconds, up to nine fractional
 * digits, then `s`; at most 315 576 000 000 s. Negative durations are refused, and so is zero
 * unless `allowZero`. Throws a TypeError naming `path` for anything else.
 */
export function durationField(value: unknown, path: string, allowZero: boolean): number {
  const match = typeof value === 'string' ? DURATION.exec(value) : null;
  if (match === null || (match[2] === '' && match[3] === undefined)) {
    throw fieldError(path, `must be a duration like "1.5s" (seconds with up to 9 decimals and an "s"; got ${describe(value)})`);
  }
  const seconds = Number(match[2] || '0');
  const nanos = Number((match[3] ?? '').padEnd(9, '0'));
  if (seconds > MAX_DURATION_SECONDS) throw fieldError(path, `must be at most ${MAX_DURATION_SECONDS}s (got ${describe(value)})`);
  if (match[1] === '-' && (seconds > 0 || nanos > 0)) throw fieldError(path, `must not be negative (got ${describe(value)})`);
  const ms = seconds * 1000 + nanos / 1e6;
  if (ms === 0 && !allowZero) throw fieldError(path, `must be greater than 0s (got ${describe(value)})`);
  return ms;
}

/** A status code given by name (`"UNAVAILABLE"`) or number (14). */
export function statusCodeField(value: unknown, path: string): Status {
  if (typeof value === 'number' && Number.isInteger(value) && Status[value] !== undefined) return value as Status;
  if (typeof value === 'string' && Object.hasOwn(Status, value) && typeof Status[value as keyof typeof Status] === 'number') {
    return Status[value as keyof typeof Status];
  }
  throw fieldError(path, `must be a status code name like "UNAVAILABLE" or a number from 0 to 16 (got ${describe(value)})`);
}
