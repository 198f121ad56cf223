import { ConflictError, MalformedResponseError, StorageError, SyncError } from '../errors/sync-error';
import { retryDelay, type BackoffPolicy } from './backoff';
import { boundedWaitMs } from './bounded-wait';

/**
 * Why an op is given up on after a failed attempt: the part of the store's
 * `FailureReason` this policy decides (`conflict`, `dropped` and `corrupt`
 * are decided elsewhere).
 */
export type GiveUpReason = 'permanent' | 'exhausted' | 'malformedResponse' | 'redirect';

/**
 * What the Backoff Manager decides after an attempt of an op failed; the
 * stream only carries it out (`docs/backoff_policy.md`).
 *
 * @example
 * const d = retryDecision(op, err, failures, policy, random, factor);
 * if (d.action === 'retry') persistThenWait({ ...op, attempts: d.attempts }, d.waitMs);
 */
export type RetryDecision =
  /**
   * Wait `waitMs` (bounded, every multiplier applied), then try again. The
   * op's budget count is now `attempts`; persist it with `nextAttemptAt`
   * before waiting.
   */
  | { readonly action: 'retry'; readonly attempts: number; readonly waitMs: number; readonly fromRetryAfter: boolean }
  /**
   * Move the op to `failed_ops` for `reason`. `attempts` is present when this
   * failure was counted (the budget ran out): the op is failed with that
   * count and the error as its `lastError`; absent, the op is failed as it is.
   */
  | { readonly action: 'fail'; readonly reason: GiveUpReason; readonly attempts?: number }
  /** A domain 409: the app's `reconcile` decides. */
  | { readonly action: 'reconcile' }
  /**
   * Nothing is known to be wrong with the op (storage trouble, a failure not
   * typed as a `SyncError`): start its processing over after `restartWaitMs`.
   */
  | { readonly action: 'restart' };

/**
 * A batch answer that cannot be matched to its request: no entry's outcome
 * is known, so the whole batch is retried under the same keys (the server
 * replays what it applied) — an ambiguous failure, counted.
 */
const isBatchMismatch = (err: SyncError): boolean => err instanceof MalformedResponseError && err.code === 'batchMismatch';

const RECONCILE: RetryDecision = Object.freeze({ action: 'reconcile' });
const RESTART: RetryDecision = Object.freeze({ action: 'restart' });

/** A malformed 2xx and a redirect keep their own reason; otherwise spent budget or a refusal. */
const giveUpReason = (err: SyncError): GiveUpReason =>
  err.kind === 'malformedResponse' || err.kind === 'redirect' ? err.kind : err.retryable ? 'exhausted' : 'permanent';

/**
 * Retry or fail, and when, after an attempt of `op` failed with `error`
 * (`docs/error_mapping.md`, `docs/backoff_policy.md`):
 * - a `StorageError` or an untyped failure → `restart`;
 * - a `ConflictError` → `reconcile`;
 * - a `MalformedResponseError` with code `batchMismatch` (a batch answer
 *   that cannot be matched to its entries) → retried like a transient
 *   error, counted, failed as `malformedResponse` once the budget is spent;
 * - any other non-retryable `SyncError` → `fail` (`permanent`,
 *   `malformedResponse` or `redirect`), budget untouched;
 * - a retryable one counts against the budget if it `consumesAttempt`;
 *   reaching `policy.maxAttempts` → `fail` (`exhausted`); otherwise `retry`
 *   after `retryDelay` (exponent `failures`, `Retry-After` honoured)
 *   stretched by `factor` and bounded by `boundedWaitMs`.
 *
 * `failures` counts the op's consecutive failed tries before this one
 * (budgeted or not). `random` is called once, only for a `retry`.
 *
 * @example
 * retryDecision({ attempts: 0 }, new ServerError({ status: 500 }), 0, DEFAULT_BACKOFF_POLICY, () => 0.5, 1);
 * // { action: 'retry', attempts: 1, waitMs: 500, fromRetryAfter: false }
 */
export function retryDecision(
  op: { readonly attempts: number },
  error: unknown,
  failures: number,
  policy: BackoffPolicy,
  random: () => number,
  factor: number,
): RetryDecision {
  if (!(error instanceof SyncError) || error instanceof StorageError) return RESTART;
  if (!error.retryable && !isBatchMismatch(error)) {
    return error instanceof ConflictError ? RECONCILE : { action: 'fail', reason: giveUpReason(error) };
  }
  const attempts = op.attempts + (error.consumesAttempt ? 1 : 0);
  if (error.consumesAttempt && attempts >= policy.maxAttempts) {
    return { action: 'fail', reason: giveUpReason(error), attempts };
  }
  const { delayMs, fromRetryAfter } = retryDelay(error, failures, policy, random);
  return { action: 'retry', attempts, waitMs: boundedWaitMs(delayMs, factor, policy), fromRetryAfter };
}

/**
 * The wait before an op's processing starts over after a `restart`:
 * the backoff for the `failures`-th consecutive restart (no `Retry-After`),
 * stretched by `factor` and bounded.
 *
 * @example
 * restartWaitMs(0, DEFAULT_BACKOFF_POLICY, () => 0.5, 1); // 500
 */
export function restartWaitMs(failures: number, policy: BackoffPolicy, random: () => number, factor: number): number {
  return boundedWaitMs(retryDelay({}, failures, policy, random).delayMs, factor, policy);
}
