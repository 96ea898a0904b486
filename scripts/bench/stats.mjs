// Latency samples and their summary. Percentiles are nearest-rank on the sorted samples: with
// thousands of samples per case that is exact enough, and it never invents a value no call had.

/** A growable list of latencies in milliseconds (Float64Array, so a million samples cost 8 MB). */
export class Samples {
  constructor(capacity = 4096) {
    this.values = new Float64Array(capacity);
    this.length = 0;
  }

  push(ms) {
    if (this.length === this.values.length) {
      const bigger = new Float64Array(this.values.length * 2);
      bigger.set(this.values);
      this.values = bigger;
    }
    this.values[this.length++] = ms;
  }

  /** Appends every sample of another Samples (rounds of one case are merged). */
  append(other) {
    for (let i = 0; i < other.length; i++) this.push(other.values[i]);
  }

  sorted() {
    return this.values.slice(0, this.length).sort();
  }
}

/** Nearest-rank percentile of an ascending array; p in [0, 100]. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/** p50/p90/p99/p99.9/max and the mean of a Samples, in ms. */
export function summarize(samples) {
  const sorted = samples.sorted();
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    n: sorted.length,
    mean: sorted.length ? sum / sorted.length : NaN,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    p999: percentile(sorted, 99.9),
    max: sorted.length ? sorted[sorted.length - 1] : NaN,
  };
}

/** a/b, or null when either side is missing (a skipped section) or b is zero. */
export function ratio(a, b) {
  if (typeof a !== 'number' || typeof b !== 'number' || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return null;
  return a / b;
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
