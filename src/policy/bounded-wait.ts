import { longestRetryDelayMs, type BackoffPolicy } from './backoff';

/**
 * The policy maximum: no wait before a retry is ever longer, whatever
 * multiplies it (`powerSavingBackoffFactor`) and whatever the server asks —
 * the longest backoff or the largest honoured `Retry-After`, whichever is
 * longer, and never above `MAX_TIMER_DELAY_MS` (2^31 − 1 ms, where timers
 * overflow and fire at once). 1 h with `DEFAULT_BACKOFF_POLICY`.
 *
 * @example
 * maxWaitMs(DEFAULT_BACKOFF_POLICY); // 3600000
 * maxWaitMs({ ...DEFAULT_BACKOFF_POLICY, maxRetryAfterMs: 0 }); // 120000 (capMs)
 */
export function maxWaitMs(policy: BackoffPolicy): number {
  return longestRetryDelayMs({ retryAfterMs: Infinity }, policy);
}

/**
 * The wait to hand to a timer: `ms × factor`, after every multiplier,
 * rounded to whole ms and clamped to `[0, maxWaitMs(policy)]`. Every wait
 * before a retry goes through here, so none can overflow a timer (which
 * would fire at once and turn a long wait into a hammering loop).
 *
 * Total over hostile input: a `factor` below 1 or not a number counts as 1
 * (a multiplier never shortens a wait, so never a server's `Retry-After`);
 * a negative or NaN `ms` is 0; `Infinity` is the maximum.
 *
 * @example
 * boundedWaitMs(500, 4, DEFAULT_BACKOFF_POLICY); // 2000
 * boundedWaitMs(3_600_000, 1e7, DEFAULT_BACKOFF_POLICY); // 3600000, not 3.6e13
 */
export function boundedWaitMs(ms: number, factor: number, policy: BackoffPolicy): number {
  const stretch = factor >= 1 ? factor : 1;
  const stretched = ms > 0 ? ms * stretch : 0;
  return Math.min(Math.round(stretched), maxWaitMs(policy));
}

/**
 * How long to wait, on read, for a stored `nextAttemptAt`: what is left of
 * it by `now`, but never longer than the longest wait the engine could have
 * chosen for the op's stored `lastError` (`longestRetryDelayMs` × `factor`,
 * bounded). An absolute time written under another clock — the wall clock
 * stepped back an hour or two days since, a record from another device —
 * therefore cannot park the queue; a time already past means no wait.
 *
 * @example
 * storedWaitMs(now + 3_000, now, { retryAfterMs: 3_000 }, 1, DEFAULT_BACKOFF_POLICY); // 3000
 * // the clock stepped back 1 h after the write:
 * storedWaitMs(now + 3_603_000, now, { retryAfterMs: 3_000 }, 1, DEFAULT_BACKOFF_POLICY); // 120000
 */
export function storedWaitMs(
  nextAttemptAt: number,
  now: number,
  lastError: { readonly retryAfterMs?: number } | null | undefined,
  factor: number,
  policy: BackoffPolicy,
): number {
  const longest = boundedWaitMs(longestRetryDelayMs(lastError ?? {}, policy), factor, policy);
  return Math.min(boundedWaitMs(nextAttemptAt - now, 1, policy), longest);
}
