interface Range {
  min: number;
  max: number;
  count: number;
}

/**
 * The enqueue times (`createdAt`, epoch ms) of the pending ops, kept in at most
 * `capacity` disjoint time ranges, so memory stays constant however deep the
 * queue grows (the spec allows 10,000+ pending ops).
 *
 * While there are at most `capacity` distinct enqueue times the ages are
 * exact. Beyond, the two adjacent ranges whose merge spans the least time are
 * merged, and a quantile is interpolated linearly inside its range: the error
 * is bounded by the width of that range, and because the queue is FIFO the
 * merged ranges are the ones deep in the queue, far from both the head (p99)
 * and, for a long queue, the middle.
 *
 * Ages derive from `now − createdAt`, so they grow between events without any
 * bookkeeping; removing an op only needs its `createdAt`.
 *
 * @example
 * const s = new PendingAgeSketch();
 * s.add(1_000); s.add(2_000); s.add(3_000);
 * s.ageQuantile(0.99, 4_000); // 3000: the oldest op is 3 s old
 */
export class PendingAgeSketch {
  // Sorted by `min`; ranges never overlap.
  readonly #ranges: Range[] = [];
  readonly #capacity: number;
  #size = 0;

  /** @param capacity most ranges kept (default 256) */
  constructor(capacity = 256) {
    this.#capacity = Math.max(2, capacity);
  }

  /** Pending ops currently tracked. */
  get size(): number {
    return this.#size;
  }

  /** Time ranges in use (never more than the capacity). */
  get rangeCount(): number {
    return this.#ranges.length;
  }

  /** Track one pending op by its enqueue time. */
  add(createdAt: number): void {
    if (!Number.isFinite(createdAt)) return;
    const ranges = this.#ranges;
    const i = this.#search(createdAt);
    const r = ranges[i];
    if (r !== undefined && r.min <= createdAt && createdAt <= r.max) {
      r.count += 1;
    } else {
      // `#search` returns the first range with min > createdAt when none contains it.
      ranges.splice(i, 0, { min: createdAt, max: createdAt, count: 1 });
    }
    this.#size += 1;
    if (ranges.length > this.#capacity) this.#mergeClosestPair();
  }

  /**
   * Stop tracking one op (completed, failed, dropped). Returns false when no
   * tracked op has that enqueue time (e.g. it was pending before tracking).
   */
  remove(createdAt: number): boolean {
    const i = this.#search(createdAt);
    const r = this.#ranges[i];
    if (r === undefined || r.min > createdAt || createdAt > r.max) return false;
    r.count -= 1;
    this.#size -= 1;
    if (r.count === 0) this.#ranges.splice(i, 1);
    return true;
  }

  /**
   * The `q` quantile of the pending ops' ages at `now` (nearest rank; 0.99 =
   * 99% of pending ops are at most this old), or 0 when nothing is pending.
   */
  ageQuantile(q: number, now: number): number {
    if (this.#size === 0) return 0;
    // Nearest rank among ages ascending is ceil(q·n); ages ascend as enqueue
    // times descend, so counted from the oldest op it is n − ceil(q·n) + 1.
    const fromYoungest = Math.max(1, Math.ceil(Math.min(1, Math.max(0, q)) * this.#size));
    const rank = this.#size - fromYoungest + 1;
    let seen = 0;
    for (const r of this.#ranges) {
      if (seen + r.count >= rank) {
        // Spread the range's ops evenly over [min, max] and pick the rank-th.
        const k = rank - seen; // 1..count
        const t = r.count === 1 ? r.min : r.min + ((r.max - r.min) * (k - 1)) / (r.count - 1);
        return Math.max(0, now - t);
      }
      seen += r.count;
    }
    return 0;
  }

  /** Forget everything. */
  clear(): void {
    this.#ranges.length = 0;
    this.#size = 0;
  }

  // Index of the range containing t, else of the first range with min > t.
  #search(t: number): number {
    const ranges = this.#ranges;
    let lo = 0;
    let hi = ranges.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ranges[mid]!.max < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  #mergeClosestPair(): void {
    const ranges = this.#ranges;
    let best = 0;
    let bestSpan = Infinity;
    for (let i = 0; i + 1 < ranges.length; i++) {
      const span = ranges[i + 1]!.max - ranges[i]!.min;
      if (span < bestSpan) {
        bestSpan = span;
        best = i;
      }
    }
    const a = ranges[best]!;
    const b = ranges[best + 1]!;
    ranges.splice(best, 2, { min: a.min, max: b.max, count: a.count + b.count });
  }
}
