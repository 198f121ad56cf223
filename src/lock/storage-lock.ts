import {
  EMPTY,
  asyncScheduler,
  catchError,
  concat,
  defer,
  exhaustMap,
  ignoreElements,
  map,
  of,
  shareReplay,
  switchMap,
  timer,
  type Observable,
  type SchedulerLike,
} from 'rxjs';
import { v4 as uuidv4 } from 'uuid';
import { ValidationError } from '../errors/sync-error';
import { timerOptionMs } from '../policy/timer-option';
import type { MetaPort } from '../../streams/ports';
import type { LockState, ProcessorLock } from './processor-lock';

/** The lock record kept in the store's metadata. */
export interface LockRecord {
  readonly owner: string;
  readonly fencingToken: number;
  /** Last renewal by the owner, epoch ms. */
  readonly heartbeatAt: number;
  /** Set by a clean release: anyone may take the lock without waiting. */
  readonly released?: boolean;
}

/** Options of `createStorageLock`. */
export interface StorageLockOptions {
  /** This contender's id. Default: a random UUID v4 per lock instance. */
  readonly ownerId?: string;
  /** Renewal period of the holder, and poll period of a contender, ms. Default 1 000. */
  readonly heartbeatMs?: number;
  /**
   * A heartbeat older than this is stale and may be taken over, ms. Default
   * 3 000. Must exceed `heartbeatMs` + `settleMs`. Crash recovery takes at
   * most `staleAfterMs + heartbeatMs + settleMs` (default ≈ 4.05 s; the
   * spec's target is < 5 s).
   */
  readonly staleAfterMs?: number;
  /** Wait between writing a claim and reading it back, ms. Default 50. */
  readonly settleMs?: number;
  /** Metadata key of the lock record. Default `'processorLock'`. */
  readonly key?: string;
  /** Runs heartbeats and settles. Default `asyncScheduler`. */
  readonly scheduler?: SchedulerLike;
  /** Clock, epoch ms. Default `scheduler.now()`. */
  readonly now?: () => number;
}

/** Defaults of `StorageLockOptions` (ms). */
export const STORAGE_LOCK_DEFAULTS = Object.freeze({
  heartbeatMs: 1_000,
  staleAfterMs: 3_000,
  settleMs: 50,
  key: 'processorLock',
});

const isLockRecord = (u: unknown): u is LockRecord =>
  typeof u === 'object' &&
  u !== null &&
  typeof (u as LockRecord).owner === 'string' &&
  Number.isInteger((u as LockRecord).fencingToken) &&
  typeof (u as LockRecord).heartbeatAt === 'number';

interface Held {
  readonly fencingToken: number;
  /** Last successful renewal (or acquisition), epoch ms. */
  renewedAt: number;
}

/**
 * A processor lock kept as a record in the store's metadata (works on any
 * driver, across tabs and processes sharing the storage): owner id, fencing
 * token, heartbeat time.
 *
 * - Acquire: read the record; if it is free (absent, released, ours, or its
 *   heartbeat is older than `staleAfterMs` — a takeover), write a claim with
 *   `fencingToken + 1`, wait `settleMs`, read it back; we hold the lock only
 *   if the record read back is our claim.
 * - Renew every `heartbeatMs`: read; if the record is still our claim, write
 *   a fresh heartbeat; otherwise the lock was lost and `hold()` emits
 *   `{ held: false, lost: true }` at once (the engine stops processing).
 *   A holder whose renewals are late by `staleAfterMs` or more (throttled
 *   timers, storage errors) also declares the lock lost before anything
 *   else, since a contender may already have taken over.
 *
 * Residual race: the store has no compare-and-set. Two contenders that both
 * read a free record before either writes will both write; the later write
 * wins and the read-back after `settleMs` tells the earlier writer it lost.
 * If a write takes longer than `settleMs` to land, both may believe they
 * hold the lock until the loser's next renewal (≤ `heartbeatMs`), which
 * reads the record and stops. In that window both may send the head op;
 * both send it with the same `Idempotency-Key`, so the server applies it
 * once (the second gets the replayed answer or 409 `idempotency_key_in_use`,
 * which is retried). The same holds for a holder paused longer than
 * `staleAfterMs` between a renewal and a send.
 *
 * @example
 * const lock = createStorageLock(storePortFromOpStore(store), { heartbeatMs: 1000, staleAfterMs: 3000 });
 * const sub = lock.hold().subscribe((s) => console.log(s.held));
 * // … later
 * sub.unsubscribe(); lock.release().subscribe();
 */
export function createStorageLock(meta: MetaPort, options: StorageLockOptions = {}): ProcessorLock {
  const heartbeatMs = options.heartbeatMs ?? STORAGE_LOCK_DEFAULTS.heartbeatMs;
  const staleAfterMs = options.staleAfterMs ?? STORAGE_LOCK_DEFAULTS.staleAfterMs;
  const settleMs = options.settleMs ?? STORAGE_LOCK_DEFAULTS.settleMs;
  const key = options.key ?? STORAGE_LOCK_DEFAULTS.key;
  const scheduler = options.scheduler ?? asyncScheduler;
  const now = options.now ?? (() => scheduler.now());
  const owner = options.ownerId ?? uuidv4();
  if (!(heartbeatMs > 0 && settleMs >= 0 && staleAfterMs > heartbeatMs + settleMs)) {
    throw new ValidationError('invalidOptions', 'lock: expected heartbeatMs > 0 and staleAfterMs > heartbeatMs + settleMs');
  }
  // Every one is a timer delay (or compared with one): a timer cannot honour more than 2^31 − 1 ms.
  timerOptionMs('lock.heartbeatMs', heartbeatMs);
  timerOptionMs('lock.settleMs', settleMs, { allowZero: true });
  timerOptionMs('lock.staleAfterMs', staleAfterMs);

  let held: Held | null = null;
  // The last write in flight: release waits for it so a late heartbeat
  // cannot land after the release and re-claim the record.
  let lastWrite: Observable<unknown> = EMPTY;

  const read = (): Observable<LockRecord | undefined> =>
    meta.readMeta<unknown>(key).pipe(map((u) => (isLockRecord(u) ? u : undefined)));
  const write = (record: LockRecord): Observable<void> => {
    const w = meta.writeMeta<LockRecord>(key, record).pipe(shareReplay({ bufferSize: 1, refCount: false }));
    lastWrite = w.pipe(catchError(() => EMPTY));
    return w;
  };
  const isOurs = (r: LockRecord | undefined, fence: number): boolean =>
    r !== undefined && r.owner === owner && r.fencingToken === fence && r.released !== true;

  const tryAcquire = (): Observable<LockState> =>
    read().pipe(
      switchMap((r) => {
        const t = now();
        const busy = r !== undefined && r.released !== true && r.owner !== owner && t - r.heartbeatAt < staleAfterMs;
        if (busy) return EMPTY;
        const takeover = r !== undefined && r.released !== true && r.owner !== owner;
        const claim: LockRecord = { owner, fencingToken: (r?.fencingToken ?? 0) + 1, heartbeatAt: t };
        // Write, let concurrent writes settle, read back: last writer wins.
        return concat(
          write(claim).pipe(ignoreElements()),
          timer(settleMs, scheduler).pipe(ignoreElements()),
          read(),
        ).pipe(
          switchMap((back) => {
            if (!isOurs(back, claim.fencingToken)) return EMPTY;
            held = { fencingToken: claim.fencingToken, renewedAt: claim.heartbeatAt };
            return of<LockState>({ held: true, fencingToken: claim.fencingToken, takeover });
          }),
        );
      }),
    );

  const lose = (): Observable<LockState> => {
    held = null;
    return of<LockState>({ held: false, lost: true });
  };

  const renew = (h: Held): Observable<LockState> => {
    // Late by a whole stale period: someone may have taken over already.
    if (now() - h.renewedAt >= staleAfterMs) return lose();
    return read().pipe(
      switchMap((r) => {
        if (held !== h) return EMPTY; // released meanwhile
        if (!isOurs(r, h.fencingToken)) return lose();
        const t = now();
        return write({ owner, fencingToken: h.fencingToken, heartbeatAt: t }).pipe(
          switchMap(() => {
            h.renewedAt = t;
            return EMPTY;
          }),
        );
      }),
    );
  };

  return {
    hold: () =>
      timer(0, heartbeatMs, scheduler).pipe(
        // A storage call slower than a heartbeat skips ticks instead of piling up.
        exhaustMap(() =>
          (held === null ? tryAcquire() : renew(held)).pipe(
            // A storage error is a missed heartbeat, never the end of contention.
            catchError(() => EMPTY),
          ),
        ),
      ),
    release: () =>
      defer(() => {
        const h = held;
        if (h === null) return of(false);
        held = null;
        return concat(
          lastWrite.pipe(ignoreElements()),
          read().pipe(
            switchMap((r) =>
              isOurs(r, h.fencingToken)
                ? write({ owner, fencingToken: h.fencingToken, heartbeatAt: now(), released: true }).pipe(map(() => true))
                : of(false),
            ),
          ),
        ).pipe(catchError(() => of(false)));
      }),
  };
}
