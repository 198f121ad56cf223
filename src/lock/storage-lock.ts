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
import { ValidationError, type ErrorInfo } from '../errors/sync-error';
import { timerOptionMs } from '../policy/timer-option';
import type { MetaPort } from './meta-port';
import { isFenceRecord, isLockRecord, lockMark, readMetaRecord, type FenceRecord, type LockRecord, type MetaRead } from './lock-record';
import { monotonicClock } from './monotonic-clock';
import type { LockState, ProcessorLock } from './processor-lock';

export type { LockRecord } from './lock-record';

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

interface Held {
  readonly fencingToken: number;
  /** Renewals written so far (the record's `beat`). */
  beat: number;
  /** Last successful renewal (or acquisition), monotonic ms. */
  renewedAt: number;
}

/** The lock record as a contender last saw it, and since when (monotonic ms) it has looked so. */
interface Sighting {
  readonly mark: string;
  readonly since: number;
}

/**
 * A processor lock kept as a record in the store's metadata (works on any
 * driver, across tabs and processes sharing the storage): owner id, fencing
 * token, heartbeat stamp and renewal count.
 *
 * - Acquire: read the record; it is free when absent, released, ours, or
 *   stale — unchanged (same owner, token, stamp and count) for
 *   `staleAfterMs` by this contender's own monotonic clock, watched over
 *   repeated polls. Wall-clock stamps are never compared across processes,
 *   so a clock stepping back or forth neither keeps a dead holder's lock
 *   nor ends a live one's. A free lock is claimed with a fencing token one
 *   above every token read or written so far (the record's, the separate
 *   `<key>.fence` record's, this instance's own): write the fence, write the
 *   claim, wait `settleMs`, read it back; we hold the lock only if the
 *   record read back is our claim.
 * - Renew every `heartbeatMs`: read; if the record is still our claim, write
 *   a fresh heartbeat; otherwise the lock was lost and `hold()` emits
 *   `{ held: false, lost: true }` at once (the engine stops processing).
 *   A holder whose renewals are late by `staleAfterMs` or more on its
 *   monotonic clock (throttled timers, storage errors) also declares the
 *   lock lost before anything else, since a contender may already have
 *   taken over.
 * - A record that cannot be read (it fails to decrypt or decode) is never
 *   taken for absent: it is reported once (`{ held: false, error }`), a
 *   holder that meets it stops (it can no longer prove it holds the lock),
 *   and everyone treats it as a record that does not change — stale, hence
 *   free, after `staleAfterMs` without a readable heartbeat. The claim then
 *   overwrites it; the fence record keeps the token increasing.
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
  const fenceKey = `${key}.fence`;
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

  let held: Held | null = null;
  let sighting: Sighting | null = null;
  // The highest fencing token this instance has read or written: a claim
  // over records that cannot be read still goes above it.
  let fence = 0;
  // Records found unreadable and already reported, until read or rewritten.
  const damaged = new Set<string>();
  // The last write in flight: release waits for it so a late heartbeat
  // cannot land after the release and re-claim the record.
  let lastWrite: Observable<unknown> = EMPTY;

  /** The error to report for this read of `k`, if any: once per damaged record. */
  const damage = <A>(k: string, r: MetaRead<A>): ErrorInfo | undefined => {
    if (r.kind !== 'unreadable') {
      damaged.delete(k);
      return undefined;
    }
    if (damaged.has(k)) return undefined;
    damaged.add(k);
    return r.error;
  };
  /** `damage` as the state `hold()` reports it with (nothing when there is none). */
  const reported = <A>(k: string, r: MetaRead<A>): Observable<LockState> => {
    const error = damage(k, r);
    return error === undefined ? EMPTY : of<LockState>({ held: false, lost: false, error });
  };
  const read = (): Observable<MetaRead<LockRecord>> =>
    readMetaRecord(meta, key, isLockRecord).pipe(
      map((r) => {
        if (r.kind === 'read') fence = Math.max(fence, r.value.fencingToken);
        return r;
      }),
    );
  const write = <A>(k: string, value: A): Observable<void> => {
    const w = meta.writeMeta<A>(k, value).pipe(shareReplay({ bufferSize: 1, refCount: false }));
    lastWrite = w.pipe(catchError(() => EMPTY));
    return w;
  };
  const isOurs = (r: MetaRead<LockRecord>, token: number): boolean =>
    r.kind === 'read' && r.value.owner === owner && r.value.fencingToken === token && r.value.released !== true;

  /** Free now? A foreign or unreadable record only once it has not changed for `staleAfterMs`. */
  const isFree = (r: MetaRead<LockRecord>): boolean => {
    if (r.kind === 'absent' || (r.kind === 'read' && (r.value.released === true || r.value.owner === owner))) return true;
    const mark = lockMark(r);
    const t = mono();
    if (sighting === null || sighting.mark !== mark) sighting = { mark, since: t };
    return t - sighting.since >= staleAfterMs;
  };

  const claim = (r: MetaRead<LockRecord>): Observable<LockState> =>
    readMetaRecord(meta, fenceKey, isFenceRecord).pipe(
      switchMap((f) => {
        const prior = f.kind === 'read' ? f.value.fencingToken : 0;
        const token = Math.max(fence, prior) + 1;
        fence = token;
        const takeover = r.kind === 'unreadable' || (r.kind === 'read' && r.value.released !== true && r.value.owner !== owner);
        const record: LockRecord = { owner, fencingToken: token, heartbeatAt: now(), beat: 0 };
        const m = mono();
        // Fence first: a crash between the two writes leaves it ahead, never behind.
        return concat(
          reported(fenceKey, f),
          write<FenceRecord>(fenceKey, { fencingToken: token }).pipe(ignoreElements()),
          write<LockRecord>(key, record).pipe(ignoreElements()),
          // Let concurrent writes settle, read back: last writer wins.
          timer(settleMs, scheduler).pipe(ignoreElements()),
          read().pipe(
            switchMap((back) => {
              if (!isOurs(back, token)) return reported(key, back);
              damaged.delete(key);
              damaged.delete(fenceKey);
              held = { fencingToken: token, beat: 0, renewedAt: m };
              sighting = null;
              return of<LockState>({ held: true, fencingToken: token, takeover });
            }),
          ),
        );
      }),
    );

  const tryAcquire = (): Observable<LockState> =>
    read().pipe(switchMap((r) => concat(reported(key, r), isFree(r) ? claim(r) : EMPTY)));

  const lose = (error?: ErrorInfo): Observable<LockState> => {
    held = null;
    return of<LockState>(error === undefined ? { held: false, lost: true } : { held: false, lost: true, error });
  };

  const renew = (h: Held): Observable<LockState> => {
    // Late by a whole stale period: someone may have taken over already.
    if (mono() - h.renewedAt >= staleAfterMs) return lose();
    return read().pipe(
      switchMap((r) => {
        if (held !== h) return EMPTY; // released meanwhile
        if (r.kind === 'unreadable') {
          // We cannot tell it is still ours: stop, report once, contend
          // again; no readable heartbeat since now.
          sighting = { mark: lockMark(r), since: mono() };
          return lose(damage(key, r));
        }
        if (!isOurs(r, h.fencingToken)) return lose();
        const m = mono();
        const beat = h.beat + 1;
        return write<LockRecord>(key, { owner, fencingToken: h.fencingToken, heartbeatAt: now(), beat }).pipe(
          switchMap(() => {
            h.renewedAt = m;
            h.beat = beat;
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
                ? write<LockRecord>(key, { owner, fencingToken: h.fencingToken, heartbeatAt: now(), beat: h.beat + 1, released: true }).pipe(
                    map(() => true),
                  )
                : of(false),
            ),
          ),
        ).pipe(catchError(() => of(false)));
      }),
  };
}
