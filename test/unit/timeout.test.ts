import fc from 'fast-check';
import { clampTimerDelay, formatTimeout, MAX_TIMER_DELAY_MS, parseTimeout } from '../../lib/protocol/timeout.js';

const UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 };
const FINEST_FIRST = ['n', 'u', 'm', 'S', 'M', 'H'];
const MAX_VALUE = 99_999_999;
const MAX_TIMEOUT_MS = MAX_VALUE * UNIT_MS.H;

const UNIT_NS: Record<string, bigint> = { H: 3_600_000_000_000n, M: 60_000_000_000n, S: 1_000_000_000n, m: 1_000_000n, u: 1000n, n: 1n };

/** The exact value of a positive finite double as num/den, den a power of two. */
function exactRational(x: number): { num: bigint; den: bigint } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const biasedExponent = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & ((1n << 52n) - 1n);
  const mantissa = biasedExponent === 0 ? fraction : fraction | (1n << 52n);
  const exponent = (biasedExponent === 0 ? 1 : biasedExponent) - 1075;
  return exponent >= 0 ? { num: mantissa << BigInt(exponent), den: 1n } : { num: mantissa, den: 1n << BigInt(-exponent) };
}

function unitOf(formatted: string): string {
  return formatted.slice(-1);
}

describe('parseTimeout', () => {
  it.each([
    ['1H', 3_600_000],
    ['2M', 120_000],
    ['3S', 3000],
    ['250m', 250],
    ['1500u', 1.5],
    ['2000000n', 2],
    ['0S', 0],
    ['00000001S', 1000],
    ['99999999m', 99_999_999],
  ])('parses %s as %d ms', (text, ms) => {
    expect(parseTimeout(text)).toBe(ms);
  });

  it('parses the largest value, 99999999H, exactly', () => {
    expect(parseTimeout('99999999H')).toBe(99_999_999 * 3_600_000);
    expect(parseTimeout('99999999H')).toBe(359_999_996_400_000);
    expect(Number.isSafeInteger(parseTimeout('99999999H'))).toBe(true);
  });

  it.each([
    '1234',
    '1234s',
    '9a1S',
    '-1S',
    '+1S',
    '18f6n',
    '123456789S',
    '000000001S',
    ' 1S',
    '1S ',
    '1S\n',
    '1 S',
    '',
    'S',
    '1.5S',
    '1e3m',
    '1SS',
    '1h',
    '1Sm',
    '0x1S',
    '\u0661S',
    '\uff11S',
  ])('refuses %j', (text) => {
    expect(parseTimeout(text)).toBeUndefined();
  });

  it('accepts exactly 1-8 ASCII digits followed by one unit letter', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'0123456789HMSmun s-+.a\u0661'.split('')), maxLength: 11 }), (text) => {
        const valid = /^[0-9]{1,8}[HMSmun]$/.test(text);
        const parsed = parseTimeout(text);
        if (valid) expect(parsed).toBe(Number(text.slice(0, -1)) * UNIT_MS[text.slice(-1)]);
        else expect(parsed).toBeUndefined();
      }),
    );
  });

  it('parses every in-range value without overflow', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MAX_VALUE }), fc.constantFrom(...FINEST_FIRST), (count, unit) => {
        const parsed = parseTimeout(`${count}${unit}`);
        expect(parsed).toBe(count * UNIT_MS[unit]);
        expect(parsed).toBeGreaterThanOrEqual(0);
      }),
    );
  });
});

describe('formatTimeout', () => {
  it.each([
    [1, '1000000n'],
    [99, '99000000n'],
    [100, '100000u'],
    [0.5, '500000n'],
    [1000, '1000000u'],
    [99_999, '99999000u'],
    [100_000, '100000m'],
    [99_999_999, '99999999m'],
    [100_000_000, '100000S'],
    [MAX_TIMEOUT_MS, '99999999H'],
  ])('formats %d ms as %s', (ms, text) => {
    expect(formatTimeout(ms)).toBe(text);
  });

  it('formats zero, negative and NaN timeouts as already expired (1n)', () => {
    for (const ms of [0, -0, -1, -1e12, NaN, -Infinity]) expect(formatTimeout(ms)).toBe('1n');
  });

  it('caps anything beyond 99999999H there', () => {
    for (const ms of [MAX_TIMEOUT_MS + 1, 1e20, Number.MAX_VALUE, Infinity]) expect(formatTimeout(ms)).toBe('99999999H');
  });

  it('round-trips integer milliseconds without ever shortening, within one unit of the chosen precision (exact arithmetic)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.integer({ min: 1, max: MAX_TIMEOUT_MS }), fc.integer({ min: 1, max: 200_000 })), (ms) => {
        const formatted = formatTimeout(ms);
        expect(parseTimeout(formatted)).toBeDefined();
        const sentNs = BigInt(formatted.slice(0, -1)) * UNIT_NS[unitOf(formatted)];
        const wantedNs = BigInt(ms) * 1_000_000n;
        expect(sentNs >= wantedNs).toBe(true);
        expect(sentNs - wantedNs < UNIT_NS[unitOf(formatted)]).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('round-trips fractional milliseconds within one unit, shortening by at most float noise (a billionth of a unit)', () => {
    fc.assert(
      fc.property(fc.double({ min: Number.MIN_VALUE, max: MAX_TIMEOUT_MS, noNaN: true }), (ms) => {
        const formatted = formatTimeout(ms);
        expect(parseTimeout(formatted)).toBeDefined();
        const unitNs = UNIT_NS[unitOf(formatted)];
        // Everything scaled by den·1e9 so it stays in integers: ms = num/den exactly.
        const { num, den } = exactRational(ms);
        const sent = BigInt(formatted.slice(0, -1)) * unitNs * den * 1_000_000_000n;
        const wanted = num * 1_000_000n * 1_000_000_000n;
        expect(sent - wanted >= -(unitNs * den)).toBe(true);
        expect(sent - wanted < unitNs * den * 1_000_000_000n).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('rounds up rather than forwarding float noise as an extra unit', () => {
    expect(formatTimeout(1.1)).toBe('1100000n');
    expect(formatTimeout(0.3)).toBe('300000n');
    expect(formatTimeout(1.000001)).toBe('1000001n');
    expect(formatTimeout(1.0000011)).toBe('1000002n');
    expect(formatTimeout(100_000.5)).toBe('100001m');
    expect(formatTimeout(1e-9)).toBe('1n');
  });

  it('always produces a value the strict parser accepts, in the finest unit that fits 8 digits', () => {
    fc.assert(
      fc.property(fc.oneof(fc.integer({ min: 1, max: MAX_TIMEOUT_MS }), fc.double({ min: 1e-9, max: MAX_TIMEOUT_MS, noNaN: true })), (ms) => {
        const formatted = formatTimeout(ms);
        expect(formatted).toMatch(/^[1-9][0-9]{0,7}[HMSmun]$/);
        const finer = FINEST_FIRST[FINEST_FIRST.indexOf(unitOf(formatted)) - 1];
        if (finer !== undefined) expect(ms / UNIT_MS[finer]).toBeGreaterThan(MAX_VALUE);
      }),
    );
  });
});

describe('clampTimerDelay', () => {
  it('is 2^31-1 ms, the largest delay Node timers honour', () => {
    expect(MAX_TIMER_DELAY_MS).toBe(2_147_483_647);
  });

  it.each([
    [0, 0],
    [-5, 0],
    [NaN, 0],
    [-Infinity, 0],
    [1, 1],
    [0.2, 1],
    [1.5, 2],
    [MAX_TIMER_DELAY_MS, MAX_TIMER_DELAY_MS],
    [MAX_TIMER_DELAY_MS + 1, MAX_TIMER_DELAY_MS],
    [MAX_TIMEOUT_MS, MAX_TIMER_DELAY_MS],
    [Infinity, MAX_TIMER_DELAY_MS],
  ])('clamps %d to %d', (ms, expected) => {
    expect(clampTimerDelay(ms)).toBe(expected);
  });

  it('returns an integer delay in [0, 2^31-1] that never fires early when in range', () => {
    fc.assert(
      fc.property(fc.double(), (ms) => {
        const delay = clampTimerDelay(ms);
        expect(Number.isInteger(delay)).toBe(true);
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThanOrEqual(MAX_TIMER_DELAY_MS);
        if (ms > 0 && ms <= MAX_TIMER_DELAY_MS) expect(delay).toBe(Math.ceil(ms));
      }),
    );
  });
});
