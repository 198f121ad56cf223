/**
 * A fixed-size, log-bucketed histogram of non-negative values (milliseconds):
 * memory is constant whatever the number of samples, quantiles are
 * deterministic and within `relativeAccuracy` of the true sample quantile
 * (the DDSketch idea, with a fixed bucket count instead of a growing one).
 *
 * Values below `minValue` share the first bucket; values above the last
 * bucket's bound share the last one (reported as that bound).
 *
 * @example
 * const h = new BucketHistogram();
 * [120, 80, 95].forEach((ms) => h.record(ms));
 * h.quantile(0.99); // ≈ 120 (within 2%)
 */
export class BucketHistogram {
  readonly #counts: Float64Array;
  readonly #gamma: number;
  readonly #logGamma: number;
  readonly #minValue: number;
  #count = 0;
  #sum = 0;
  #max = 0;

  /**
   * @param relativeAccuracy bound on the relative error of `quantile` (default 2%)
   * @param minValue values at or below it are reported as 0 (default 1 ms)
   * @param maxBuckets fixed bucket count (default 512: 1 ms to ~10^8 ms at 2%)
   */
  constructor(relativeAccuracy = 0.02, minValue = 1, maxBuckets = 512) {
    this.#gamma = (1 + relativeAccuracy) / (1 - relativeAccuracy);
    this.#logGamma = Math.log(this.#gamma);
    this.#minValue = minValue;
    // bucket 0: [0, minValue]; bucket i ≥ 1: (minValue·γ^(i-1), minValue·γ^i]
    this.#counts = new Float64Array(maxBuckets);
  }

  /** Samples recorded so far. */
  get count(): number {
    return this.#count;
  }

  /** Arithmetic mean of all samples (exact), 0 when empty. */
  get mean(): number {
    return this.#count === 0 ? 0 : this.#sum / this.#count;
  }

  /** Largest sample (exact), 0 when empty. */
  get max(): number {
    return this.#max;
  }

  /** Record one sample; negative and non-finite values are ignored. */
  record(value: number): void {
    if (!Number.isFinite(value) || value < 0) return;
    this.#counts[this.#indexOf(value)]! += 1;
    this.#count += 1;
    this.#sum += value;
    if (value > this.#max) this.#max = value;
  }

  /**
   * The `q` quantile (0 ≤ q ≤ 1) of the samples, 0 when empty. Uses the
   * nearest-rank definition: the smallest value with at least `q·n` samples
   * at or below it.
   */
  quantile(q: number): number {
    if (this.#count === 0) return 0;
    const rank = Math.max(1, Math.ceil(Math.min(1, Math.max(0, q)) * this.#count));
    let seen = 0;
    for (let i = 0; i < this.#counts.length; i++) {
      seen += this.#counts[i]!;
      if (seen >= rank) return Math.min(this.#valueOf(i), this.#max);
    }
    return this.#max;
  }

  /** Forget every sample. */
  reset(): void {
    this.#counts.fill(0);
    this.#count = 0;
    this.#sum = 0;
    this.#max = 0;
  }

  #indexOf(value: number): number {
    if (value <= this.#minValue) return 0;
    const i = Math.ceil(Math.log(value / this.#minValue) / this.#logGamma);
    return Math.min(Math.max(i, 1), this.#counts.length - 1);
  }

  // The representative of a bucket: the point within relativeAccuracy of
  // both bounds, 2·γ^i·min/(γ+1).
  #valueOf(i: number): number {
    if (i === 0) return 0;
    return (2 * this.#minValue * Math.pow(this.#gamma, i)) / (this.#gamma + 1);
  }
}
