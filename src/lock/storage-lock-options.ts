import { asyncScheduler, type SchedulerLike } from 'rxjs';
import { uuidV4 as uuidv4 } from '../op/uuid';
import { ValidationError } from '../errors/sync-error';
import { timerOptionMs } from '../policy/timer-option';
import { monotonicClock } from './monotonic-clock';

/** Options of `createStorageLock`. */
export interface StorageLockOptions {
  /** This contender's id. Default: a random UUID v4 per lock instance. */
  readonly ownerId?: string;
  /** Renewal period of the holder, and poll period of a contender, ms. Default 1 000. */
  readonly heartbeatMs?: number;
  /**
   * A foreign lock record that has not changed for this long, as measured
   * by the contender's own monotonic clock, is stale and may be taken over,
   * ms. Default 3 000. Must exceed `heartbeatMs` + `settleMs`. Crash
   * recovery takes at most `staleAfterMs + heartbeatMs + settleMs` (default
   * ≈ 4.05 s; the spec's target is < 5 s) for a contender already watching;
   * one that starts later waits `staleAfterMs` from its first look.
   */
  readonly staleAfterMs?: number;
  /** Wait between writing a claim and reading it back, ms. Default 50. */
  readonly settleMs?: number;
  /**
   * Metadata key of the lock record. Default `'processorLock'`; the fencing
   * high-water mark lives under `<key>.fence`.
   */
  readonly key?: string;
  /** Runs heartbeats and settles. Default `asyncScheduler`. */
  readonly scheduler?: SchedulerLike;
  /** Wall clock for the record's `heartbeatAt` stamp, epoch ms. Default `scheduler.now()`. */
  readonly now?: () => number;
  /**
   * Monotonic clock that staleness and the holder's own lateness are
   * measured with, ms; it must not step when the wall clock does. Default:
   * a virtual-time scheduler's own `now()`; with RxJS's wall-clock
   * schedulers (`asyncScheduler`…), `performance.now()`.
   */
  readonly monotonicNow?: () => number;
}

/** Defaults of `StorageLockOptions` (ms). */
export const STORAGE_LOCK_DEFAULTS = Object.freeze({
  heartbeatMs: 1_000,
  staleAfterMs: 3_000,
  settleMs: 50,
  key: 'processorLock',
});

/** `StorageLockOptions` with every default filled in, validated. */
export interface LockConfig {
  readonly owner: string;
  readonly heartbeatMs: number;
  readonly staleAfterMs: number;
  readonly settleMs: number;
  readonly key: string;
  readonly fenceKey: string;
  readonly scheduler: SchedulerLike;
  readonly now: () => number;
  readonly mono: () => number;
}

/**
 * Fill in the defaults and check the timings; throws `ValidationError`
 * (`invalidOptions`) unless `heartbeatMs > 0` and `staleAfterMs >
 * heartbeatMs + settleMs`, each within what a timer can honour.
 *
 * @example
 * resolveLockOptions({ heartbeatMs: 500, staleAfterMs: 2000 }).fenceKey; // 'processorLock.fence'
 */
export function resolveLockOptions(options: StorageLockOptions): LockConfig {
  const heartbeatMs = options.heartbeatMs ?? STORAGE_LOCK_DEFAULTS.heartbeatMs;
  const staleAfterMs = options.staleAfterMs ?? STORAGE_LOCK_DEFAULTS.staleAfterMs;
  const settleMs = options.settleMs ?? STORAGE_LOCK_DEFAULTS.settleMs;
  const key = options.key ?? STORAGE_LOCK_DEFAULTS.key;
  const scheduler = options.scheduler ?? asyncScheduler;
  const now = options.now ?? (() => scheduler.now());
  const mono = options.monotonicNow ?? monotonicClock(scheduler);
  const owner = options.ownerId ?? uuidv4();
  if (!(heartbeatMs > 0 && settleMs >= 0 && staleAfterMs > heartbeatMs + settleMs)) {
    throw new ValidationError('invalidOptions', 'lock: expected heartbeatMs > 0 and staleAfterMs > heartbeatMs + settleMs');
  }
  // Every one is a timer delay (or compared with one): a timer cannot honour more than 2^31 − 1 ms.
  timerOptionMs('lock.heartbeatMs', heartbeatMs);
  timerOptionMs('lock.settleMs', settleMs, { allowZero: true });
  timerOptionMs('lock.staleAfterMs', staleAfterMs);
  return { owner, heartbeatMs, staleAfterMs, settleMs, key, fenceKey: `${key}.fence`, scheduler, now, mono };
}
