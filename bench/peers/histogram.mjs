// Latency samples → the contract's percentile object (bench/CONTRACT.md).
//
//   const latency = new Histogram();
//   latency.record(elapsed_us);
//   latency.summary();  // {p50, p90, p99, p999, max, count}, microseconds
//
// The Node.js peers record far fewer values than the native load generator, so
// every value is kept and the percentiles are exact (nearest rank) instead of
// log-linear buckets; that is within the contract's 1 % error by construction.
export class Histogram {
  constructor(expected_count = 1024) {
    this.values_ = new Float64Array(Math.max(16, expected_count)); // grows by doubling
    this.count_ = 0; // values recorded
  }

  // Records one value (microseconds). Non-finite values are a caller bug.
  record(value_us) {
    if (this.count_ === this.values_.length) {
      const grown = new Float64Array(this.values_.length * 2);
      grown.set(this.values_);
      this.values_ = grown;
    }
    this.values_[this.count_++] = value_us;
  }

  get count() {
    return this.count_;
  }

  // Percentiles rounded to whole microseconds; all zero when nothing was recorded.
  summary() {
    const sorted = this.values_.subarray(0, this.count_).sort();
    const at = (fraction) => {
      if (sorted.length === 0) return 0;
      const rank = Math.ceil(fraction * sorted.length); // nearest rank, 1-based
      return Math.round(sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]);
    };
    return {
      p50: at(0.5),
      p90: at(0.9),
      p99: at(0.99),
      p999: at(0.999),
      max: at(1),
      count: sorted.length,
    };
  }
}
