import vectors from '../../test-vectors/backoff.json';
import { RateLimitError, ValidationError } from '../../src/errors/sync-error';
import {
  computeBackoff,
  DEFAULT_BACKOFF_POLICY,
  longestRetryDelayMs,
  MAX_TIMER_DELAY_MS,
  resolveBackoffPolicy,
  retryDelay,
  type BackoffPolicy,
  type JitterMode,
} from '../../src/policy/backoff';

interface BackoffRow {
  readonly name: string;
  readonly jitter: string;
  readonly attempt: number;
  readonly random: number;
  readonly overrides: Partial<BackoffPolicy>;
  readonly expectedMs: number;
}
interface RetryDelayRow {
  readonly name: string;
  readonly retryAfterMs?: number;
  readonly attempt: number;
  readonly random: number;
  readonly overrides: Partial<BackoffPolicy> & { jitter?: string };
  readonly expected: { readonly delayMs: number; readonly fromRetryAfter: boolean };
}

const policyOf = (jitter: string | undefined, overrides: Partial<BackoffPolicy> & { jitter?: string }): BackoffPolicy => ({
  ...DEFAULT_BACKOFF_POLICY,
  ...overrides,
  jitter: (overrides.jitter ?? jitter ?? DEFAULT_BACKOFF_POLICY.jitter) as JitterMode,
});

describe('computeBackoff (test-vectors/backoff.json)', () => {
  const rows = vectors.computeBackoff as unknown as readonly BackoffRow[];

  it('has a row for every jitter mode', () => {
    expect(new Set(rows.map((r) => r.jitter))).toEqual(new Set(['full', 'multiplicative', 'proportional']));
  });

  test.each(rows.map((r) => [r.name, r] as const))('%s', (_name, row) => {
    const random = jest.fn(() => row.random);
    expect(computeBackoff(row.attempt, policyOf(row.jitter, row.overrides), random)).toBe(row.expectedMs);
    // Exactly one draw per computation: a replayed random sequence stays aligned.
    expect(random).toHaveBeenCalledTimes(1);
  });
});

describe('retryDelay (test-vectors/backoff.json)', () => {
  const rows = vectors.retryDelay as unknown as readonly RetryDelayRow[];
  test.each(rows.map((r) => [r.name, r] as const))('%s', (_name, row) => {
    const error = row.retryAfterMs === undefined ? {} : { retryAfterMs: row.retryAfterMs };
    expect(retryDelay(error, row.attempt, policyOf(undefined, row.overrides), () => row.random)).toEqual(row.expected);
  });

  it('reads retryAfterMs from a SyncError', () => {
    const err = new RateLimitError({ status: 429, retryAfterMs: 45_000 });
    expect(retryDelay(err, 0, DEFAULT_BACKOFF_POLICY, () => 0.5)).toEqual({ delayMs: 45_000, fromRetryAfter: true });
  });
});

describe('longestRetryDelayMs (test-vectors/backoff.json)', () => {
  const rows = vectors.longestRetryDelayMs as unknown as ReadonlyArray<Omit<RetryDelayRow, 'expected' | 'attempt' | 'random'> & { readonly expectedMs: number }>;
  test.each(rows.map((r) => [r.name, r] as const))('%s', (_name, row) => {
    const error = row.retryAfterMs === undefined ? {} : { retryAfterMs: row.retryAfterMs };
    expect(longestRetryDelayMs(error, policyOf(undefined, row.overrides))).toBe(row.expectedMs);
  });

  it.each(['full', 'multiplicative', 'proportional'] as const)('%s: bounds every retryDelay', (jitter) => {
    const policy = { ...DEFAULT_BACKOFF_POLICY, jitter };
    for (const retryAfterMs of [undefined, 0, 3_000, 1_800_000, 1e15]) {
      for (let attempt = 0; attempt < 20; attempt += 1) {
        for (const r of [0, 0.5, 1 - 1e-12]) {
          expect(retryDelay({ retryAfterMs }, attempt, policy, () => r).delayMs).toBeLessThanOrEqual(longestRetryDelayMs({ retryAfterMs }, policy));
        }
      }
    }
  });
});

describe('backoff properties', () => {
  const modes: readonly JitterMode[] = ['full', 'multiplicative', 'proportional'];
  const randoms = [0, 0.1, 0.333, 0.5, 0.9, 0.999999];

  it.each(modes)('%s: never negative, never above the timer limit, bounded by the ceiling', (jitter) => {
    const policy = { ...DEFAULT_BACKOFF_POLICY, jitter };
    const upper = jitter === 'proportional' ? 1 + policy.jitterRatio : 1;
    for (let attempt = 0; attempt < 40; attempt += 1) {
      const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** attempt);
      for (const r of randoms) {
        const d = computeBackoff(attempt, policy, () => r);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThanOrEqual(Math.min(Math.round(ceiling * upper), MAX_TIMER_DELAY_MS));
        expect(Number.isInteger(d)).toBe(true);
      }
    }
  });

  it('full jitter with the same random grows monotonically until the cap', () => {
    const delays = Array.from({ length: 12 }, (_, n) => computeBackoff(n, DEFAULT_BACKOFF_POLICY, () => 0.5));
    for (let i = 1; i < delays.length; i += 1) expect(delays[i]).toBeGreaterThanOrEqual(delays[i - 1]);
    expect(delays[delays.length - 1]).toBe(DEFAULT_BACKOFF_POLICY.capMs / 2);
  });

  it('treats a NaN attempt and a NaN random as 0', () => {
    expect(computeBackoff(Number.NaN, DEFAULT_BACKOFF_POLICY, () => 0.5)).toBe(500);
    expect(computeBackoff(3, DEFAULT_BACKOFF_POLICY, () => Number.NaN)).toBe(0);
  });

  it('keeps the default constant frozen at the documented values', () => {
    expect(DEFAULT_BACKOFF_POLICY).toEqual({
      baseMs: 1000,
      capMs: 120_000,
      maxAttempts: 5,
      jitter: 'full',
      jitterRatio: 0.2,
      maxRetryAfterMs: 3_600_000,
    });
    expect(Object.isFrozen(DEFAULT_BACKOFF_POLICY)).toBe(true);
    expect(DEFAULT_BACKOFF_POLICY.maxRetryAfterMs).toBeLessThan(MAX_TIMER_DELAY_MS);
  });
});

describe('resolveBackoffPolicy', () => {
  it('merges overrides onto the defaults', () => {
    expect(resolveBackoffPolicy({ capMs: 30_000, jitter: 'proportional' })).toEqual({
      ...DEFAULT_BACKOFF_POLICY,
      capMs: 30_000,
      jitter: 'proportional',
    });
    expect(resolveBackoffPolicy()).toEqual(DEFAULT_BACKOFF_POLICY);
  });

  it.each<[string, Partial<BackoffPolicy>, string]>([
    ['negative base', { baseMs: -1 }, 'backoff.baseMs'],
    ['NaN cap', { capMs: Number.NaN }, 'backoff.capMs'],
    ['cap below base', { baseMs: 5000, capMs: 1000 }, 'backoff.capMs'],
    ['cap above the timer limit', { capMs: 2 ** 31 }, 'backoff.capMs'],
    ['maxRetryAfter above the timer limit', { maxRetryAfterMs: 30 * 24 * 3600 * 1000 }, 'backoff.maxRetryAfterMs'],
    ['zero attempts', { maxAttempts: 0 }, 'backoff.maxAttempts'],
    ['fractional attempts', { maxAttempts: 2.5 }, 'backoff.maxAttempts'],
    ['unknown jitter', { jitter: 'equal' as JitterMode }, 'backoff.jitter'],
    ['ratio above 1', { jitterRatio: 1.5 }, 'backoff.jitterRatio'],
  ])('rejects %s', (_name, overrides, field) => {
    let caught: unknown;
    try {
      resolveBackoffPolicy(overrides);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ValidationError);
    expect((caught as ValidationError).reason).toBe('invalidOptions');
    expect((caught as ValidationError).detail).toMatch(new RegExp(`^${field.replace('.', '\\.')}:`));
  });
});
