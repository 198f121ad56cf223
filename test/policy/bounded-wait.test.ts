import vectors from '../../test-vectors/bounded_wait.json';
import { DEFAULT_BACKOFF_POLICY, MAX_TIMER_DELAY_MS, resolveBackoffPolicy, type BackoffPolicy } from '../../src/policy/backoff';
import { boundedWaitMs, maxWaitMs, storedWaitMs } from '../../src/policy/bounded-wait';

type Num = number | 'NaN' | 'Infinity' | '-Infinity';
interface MaxRow {
  readonly name: string;
  readonly overrides: Partial<BackoffPolicy>;
  readonly expectedMs: number;
}
interface BoundedRow extends MaxRow {
  readonly ms: Num;
  readonly factor: Num;
}
interface StoredRow extends MaxRow {
  readonly aheadMs: number;
  readonly lastError?: { readonly retryAfterMs?: number };
  readonly factor: number;
}

const num = (v: Num): number => (typeof v === 'number' ? v : Number(v));
// Through validation: every row's policy is one createSyncEngine accepts.
const policyOf = (overrides: Partial<BackoffPolicy>): BackoffPolicy => resolveBackoffPolicy(overrides);

describe('maxWaitMs (test-vectors/bounded_wait.json)', () => {
  test.each((vectors.maxWaitMs as readonly MaxRow[]).map((r) => [r.name, r] as const))('%s', (_name, row) => {
    expect(maxWaitMs(policyOf(row.overrides))).toBe(row.expectedMs);
  });
});

describe('boundedWaitMs (test-vectors/bounded_wait.json)', () => {
  test.each((vectors.boundedWaitMs as readonly BoundedRow[]).map((r) => [r.name, r] as const))('%s', (_name, row) => {
    expect(boundedWaitMs(num(row.ms), num(row.factor), policyOf(row.overrides))).toBe(row.expectedMs);
  });

  it('never leaves [0, 2^31 − 1] nor returns a fraction, for any wait and factor', () => {
    const extreme = policyOf({ baseMs: MAX_TIMER_DELAY_MS, capMs: MAX_TIMER_DELAY_MS, maxRetryAfterMs: MAX_TIMER_DELAY_MS });
    const waits = [-Infinity, -1, 0, 0.4, 1, 999.5, 120_000, MAX_TIMER_DELAY_MS, 1e15, Number.MAX_VALUE, Infinity, NaN];
    const factors = [NaN, -1, 0, 0.5, 1, 4, 1e7, 1e300, Number.MAX_VALUE, Infinity];
    for (const policy of [DEFAULT_BACKOFF_POLICY, extreme]) {
      for (const ms of waits) {
        for (const factor of factors) {
          const w = boundedWaitMs(ms, factor, policy);
          expect(Number.isInteger(w)).toBe(true);
          expect(w).toBeGreaterThanOrEqual(0);
          expect(w).toBeLessThanOrEqual(Math.min(maxWaitMs(policy), MAX_TIMER_DELAY_MS));
        }
      }
    }
  });
});

describe('storedWaitMs: a stored nextAttemptAt under a clock that jumped (test-vectors/bounded_wait.json)', () => {
  const { now, rows } = vectors.storedWait as { readonly now: number; readonly rows: readonly StoredRow[] };
  test.each(rows.map((r) => [r.name, r] as const))('%s', (_name, row) => {
    expect(storedWaitMs(now + row.aheadMs, now, row.lastError, row.factor, policyOf(row.overrides))).toBe(row.expectedMs);
  });
});
