/**
 * How the demo waits for the drain: as long as it makes progress, however
 * long that takes (3,000 ops or 100,000), and no longer than `stallMs`
 * without any. A fixed deadline cannot be right for every `--ops`: too short
 * for a big run, far too long to notice a stuck small one.
 */

/** What `waitForDrain` needs; time and sleep are injected so tests run it on a virtual clock. */
export interface DrainWaitOptions {
  /** True when the queue is empty and nothing is in flight. */
  readonly drained: () => boolean;
  /**
   * A value that changes whenever the drain moves: ops applied, parked or
   * still pending. Re-sends alone are not progress (an op retried forever
   * would never count as stuck).
   */
  readonly progress: () => string;
  /** Give up after this long without a change of `progress()`, ms. */
  readonly stallMs: number;
  /** Poll interval, ms. Default 50. */
  readonly pollMs?: number;
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
}

/** How the wait ended; `stalled` carries the last progress value seen. */
export type DrainWaitOutcome = { readonly kind: 'drained'; readonly waitedMs: number } | { readonly kind: 'stalled'; readonly waitedMs: number; readonly progress: string };

/**
 * Wait until `drained()`, or until `progress()` has not changed for
 * `stallMs`.
 *
 * @example
 * const end = await waitForDrain({ drained, progress: () => `${applied()}/${pending()}`, stallMs: 20_000, now: Date.now, sleep });
 * if (end.kind === 'stalled') report(`no progress for ${end.waitedMs} ms`);
 */
export async function waitForDrain(o: DrainWaitOptions): Promise<DrainWaitOutcome> {
  const start = o.now();
  let last = o.progress();
  let lastChangeAt = start;
  for (;;) {
    if (o.drained()) return { kind: 'drained', waitedMs: o.now() - start };
    const t = o.now();
    const p = o.progress();
    if (p !== last) {
      last = p;
      lastChangeAt = t;
    } else if (t - lastChangeAt >= o.stallMs) {
      return { kind: 'stalled', waitedMs: t - start, progress: p };
    }
    await o.sleep(o.pollMs ?? 50);
  }
}
