import { ValidationError } from '../errors/sync-error';

/**
 * How the exponential ceiling is randomised (`docs/backoff_policy.md`):
 * - `full` (default): uniform in `[0, ceiling)` — "Full Jitter" of the AWS
 *   Architecture Blog study "Exponential Backoff and Jitter"; spreads a herd
 *   of clients best.
 * - `multiplicative`: `ceiling × (1 − jitterRatio × r)`, i.e. uniform in
 *   `(ceiling × (1 − ratio), ceiling]`; the spec's `2^n × base × jitter`.
 * - `proportional`: `ceiling × (1 + jitterRatio × (2r − 1))`, i.e. ±ratio
 *   around the ceiling, as gRPC's connection backoff (may exceed `capMs` by
 *   up to `jitterRatio`, as in gRPC).
 *
 * @example
 * computeBackoff(2, { ...DEFAULT_BACKOFF_POLICY, jitter: 'multiplicative' }, () => 0.5); // 3600
 */
export type JitterMode = 'full' | 'multiplicative' | 'proportional';

/**
 * Retry timing of transient failures. All durations in milliseconds.
 *
 * @example
 * const policy: BackoffPolicy = resolveBackoffPolicy({ baseMs: 500, jitter: 'proportional' });
 */
export interface BackoffPolicy {
  /** Ceiling of the first retry's wait, ms. Default 1000. */
  readonly baseMs: number;
  /** Largest exponential ceiling, ms. Default 120000 (2 min). */
  readonly capMs: number;
  /**
   * Budget-consuming failed attempts after which an op goes to `failed_ops`
   * (`attempts >= maxAttempts`). Default 5. Offline, timeouts, 401 and 429
   * never consume it (`docs/error_mapping.md`).
   */
  readonly maxAttempts: number;
  /** Default `'full'`. */
  readonly jitter: JitterMode;
  /** Spread of `multiplicative` and `proportional` jitter, 0..1. Default 0.2. */
  readonly jitterRatio: number;
  /**
   * Largest wait honoured from a server `Retry-After`, ms. Default 3600000
   * (1 h). Always clamped to `MAX_TIMER_DELAY_MS` as well. With `capMs` it
   * sets the policy maximum (`maxWaitMs`) no wait exceeds, power saving's
   * multiplier included.
   */
  readonly maxRetryAfterMs: number;
}

/**
 * Timers (`setTimeout`, RxJS `timer`) store delays as signed 32-bit ints: a
 * delay above 2^31 − 1 ms (~24.8 days) fires at once. No wait we compute
 * ever exceeds this.
 *
 * @example
 * timer(Math.min(delayMs, MAX_TIMER_DELAY_MS), scheduler);
 */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/**
 * The defaults: base 1 s, cap 2 min, 5 budgeted attempts, full jitter,
 * ratio 0.2 for the other modes, `Retry-After` honoured up to 1 h.
 *
 * @example
 * const policy = { ...DEFAULT_BACKOFF_POLICY, maxAttempts: 8 };
 */
export const DEFAULT_BACKOFF_POLICY: Readonly<BackoffPolicy> = Object.freeze({
  baseMs: 1000,
  capMs: 120_000,
  maxAttempts: 5,
  jitter: 'full',
  jitterRatio: 0.2,
  maxRetryAfterMs: 3_600_000,
});

const JITTER_MODES: readonly JitterMode[] = ['full', 'multiplicative', 'proportional'];

/**
 * Merge `overrides` onto `DEFAULT_BACKOFF_POLICY` and check the result;
 * throws `ValidationError('invalidOptions')` whose detail names the field.
 *
 * @example
 * const policy = resolveBackoffPolicy({ capMs: 30_000 });
 * resolveBackoffPolicy({ baseMs: -1 }); // throws ValidationError
 */
export function resolveBackoffPolicy(overrides: Partial<BackoffPolicy> = {}): Readonly<BackoffPolicy> {
  const p: BackoffPolicy = { ...DEFAULT_BACKOFF_POLICY, ...overrides };
  const bad = (field: keyof BackoffPolicy, what: string): never => {
    throw new ValidationError('invalidOptions', `backoff.${field}: ${what}`);
  };
  const nonNegative = (field: 'baseMs' | 'capMs' | 'maxRetryAfterMs') => {
    const v = p[field];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) bad(field, 'expected a finite number >= 0');
    if (v > MAX_TIMER_DELAY_MS) bad(field, `expected at most ${MAX_TIMER_DELAY_MS}`);
  };
  nonNegative('baseMs');
  nonNegative('capMs');
  nonNegative('maxRetryAfterMs');
  if (p.capMs < p.baseMs) bad('capMs', 'expected capMs >= baseMs');
  if (typeof p.maxAttempts !== 'number' || !Number.isInteger(p.maxAttempts) || p.maxAttempts < 1) {
    bad('maxAttempts', 'expected an integer >= 1');
  }
  if (!JITTER_MODES.includes(p.jitter)) bad('jitter', `expected one of ${JITTER_MODES.join(', ')}`);
  if (typeof p.jitterRatio !== 'number' || !(p.jitterRatio >= 0 && p.jitterRatio <= 1)) {
    bad('jitterRatio', 'expected a number in [0, 1]');
  }
  return Object.freeze(p);
}

// A random() outside [0, 1) (a bad stub, NaN) must not produce a negative or
// NaN wait; it is clamped into range.
const unit = (r: number): number => (r >= 0 ? (r < 1 ? r : 1 - Number.EPSILON) : 0);

/**
 * The backoff wait before retry number `attempt`, in whole milliseconds
 * (rounded to nearest):
 * `ceiling = min(capMs, baseMs × 2^attempt)`, then jittered per
 * `policy.jitter` with `random()` (injected; `Math.random` in production).
 *
 * `attempt` is zero-based: 0 for the wait after the first failure. Callers
 * pass the number of consecutive failed tries of the op minus one, counting
 * every failure (also those that do not consume the attempt budget) and
 * resetting after a success. Fractional values are floored, negative ones
 * (and NaN) count as 0.
 *
 * @example
 * computeBackoff(0, DEFAULT_BACKOFF_POLICY, () => 0.5); // 500  (full jitter of 1000)
 * computeBackoff(3, { ...DEFAULT_BACKOFF_POLICY, jitter: 'proportional' }, () => 1 - 1e-9); // ~9600
 */
export function computeBackoff(attempt: number, policy: BackoffPolicy, random: () => number): number {
  const n = Number.isFinite(attempt) && attempt > 0 ? Math.floor(attempt) : 0;
  // 2^n overflows to Infinity for large n; base 0 × Infinity would be NaN.
  const exponential = n >= 1024 ? Infinity : policy.baseMs * 2 ** n;
  const ceiling = policy.baseMs === 0 ? 0 : Math.min(policy.capMs, exponential);
  const r = unit(random());
  let delay: number;
  switch (policy.jitter) {
    case 'multiplicative':
      delay = ceiling * (1 - policy.jitterRatio * r);
      break;
    case 'proportional':
      delay = ceiling * (1 + policy.jitterRatio * (2 * r - 1));
      break;
    case 'full':
    default:
      delay = ceiling * r;
      break;
  }
  return Math.min(Math.max(0, Math.round(delay)), MAX_TIMER_DELAY_MS);
}

/**
 * The wait before the next attempt after `error`: `max(clamped
 * retryAfterMs, computeBackoff(attempt))`. A server `Retry-After` raises the
 * floor of the wait but never shortens it; it is clamped to
 * `min(policy.maxRetryAfterMs, MAX_TIMER_DELAY_MS)`. `fromRetryAfter` is
 * true when the server's value decided the wait (for the `backoff` event and
 * `sync.retry_after.count`).
 *
 * @example
 * retryDelay(new RateLimitError({ status: 429, retryAfterMs: 30_000 }), 0, DEFAULT_BACKOFF_POLICY, () => 0.5);
 * // { delayMs: 30000, fromRetryAfter: true }
 * retryDelay(new ServerError({ status: 500 }), 2, DEFAULT_BACKOFF_POLICY, () => 0.5);
 * // { delayMs: 2000, fromRetryAfter: false }
 */
export function retryDelay(
  error: { readonly retryAfterMs?: number },
  attempt: number,
  policy: BackoffPolicy,
  random: () => number,
): { readonly delayMs: number; readonly fromRetryAfter: boolean } {
  const backoff = computeBackoff(attempt, policy, random);
  const honoured = honouredRetryAfterMs(error.retryAfterMs, policy);
  return honoured !== undefined && honoured >= backoff && honoured > 0
    ? { delayMs: honoured, fromRetryAfter: true }
    : { delayMs: backoff, fromRetryAfter: false };
}

/** A server's wait as `retryDelay` honours it (clamped, whole ms), or undefined when there is none. */
function honouredRetryAfterMs(ra: number | undefined, policy: BackoffPolicy): number | undefined {
  if (typeof ra !== 'number' || !(ra >= 0)) return undefined;
  const limit = Math.min(Math.max(0, policy.maxRetryAfterMs), MAX_TIMER_DELAY_MS);
  return Math.ceil(Math.min(ra, limit));
}

/**
 * The longest wait `retryDelay` can return for `error` under `policy`,
 * whatever the attempt number and `random()`: the largest jittered backoff
 * (`capMs`, or `capMs × (1 + jitterRatio)` for `proportional`) or the
 * honoured `Retry-After`, whichever is longer; never above
 * `MAX_TIMER_DELAY_MS`. Bounds a stored `nextAttemptAt` on read
 * (`docs/backoff_policy.md`).
 *
 * @example
 * longestRetryDelayMs({}, DEFAULT_BACKOFF_POLICY); // 120000
 * longestRetryDelayMs({ retryAfterMs: 1e15 }, DEFAULT_BACKOFF_POLICY); // 3600000
 */
export function longestRetryDelayMs(error: { readonly retryAfterMs?: number }, policy: BackoffPolicy): number {
  const spread = policy.jitter === 'proportional' ? 1 + policy.jitterRatio : 1;
  const backoff = Math.min(Math.ceil(Math.max(0, policy.capMs * spread)), MAX_TIMER_DELAY_MS);
  return Math.max(backoff, honouredRetryAfterMs(error.retryAfterMs, policy) ?? 0);
}
