/**
 * `Histogram`, a fixed-size log-linear latency histogram in the spirit of HdrHistogram: values
 * are integer microseconds, each power of two is split into 64 buckets (under 1.6% error), and
 * the counts live in one preallocated typed array, so recording never allocates.
 */

const SUB_BUCKETS = 64;
const LINEAR_LIMIT = 2 * SUB_BUCKETS; // values below this are exact
const MAX_VALUE = 0xffffffff;
const BUCKETS = (32 - 7 + 1) * SUB_BUCKETS + SUB_BUCKETS;

function indexOf(value: number): number {
  if (value < LINEAR_LIMIT) return value;
  const exponent = 31 - Math.clz32(value); // >= 7
  const shift = exponent - 6;
  return shift * SUB_BUCKETS + (value >>> shift);
}

/** The largest value that falls into bucket `index`. */
function upperBoundOf(index: number): number {
  if (index < LINEAR_LIMIT) return index;
  const shift = Math.floor(index / SUB_BUCKETS) - 1;
  const sub = index - shift * SUB_BUCKETS;
  return (sub + 1) * 2 ** shift - 1;
}

/** Latencies in microseconds (0 to 2^32-1, about 71 minutes; larger values are clamped). */
export class Histogram {
  private readonly counts = new Float64Array(BUCKETS);
  count = 0;
  private sum = 0;
  min = Infinity;
  max = 0;

  /** Records one latency given in milliseconds (e.g. a difference of `performance.now()`). */
  recordMs(ms: number): void {
    this.record(Math.round(ms * 1000));
  }

  /** Records one value in microseconds. */
  record(micros: number): void {
    const value = micros < 0 ? 0 : micros > MAX_VALUE ? MAX_VALUE : micros;
    this.counts[indexOf(value)]++;
    this.count++;
    this.sum += value;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
  }

  /** Forgets everything recorded (after the warm-up). */
  reset(): void {
    this.counts.fill(0);
    this.count = 0;
    this.sum = 0;
    this.min = Infinity;
    this.max = 0;
  }

  /** The value at quantile `q` (0..1) in microseconds: the upper bound of its bucket, capped by the maximum seen. NaN when empty. */
  quantile(q: number): number {
    if (this.count === 0) return NaN;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let index = 0; index < BUCKETS; index++) {
      seen += this.counts[index];
      if (seen >= rank) return Math.min(upperBoundOf(index), this.max);
    }
    return this.max;
  }

  /** The mean in microseconds (NaN when empty). */
  get mean(): number {
    return this.count === 0 ? NaN : this.sum / this.count;
  }
}
