import { EMPTY, catchError, concat, defer, exhaustMap, ignoreElements, map, of, shareReplay, switchMap, tap, timer, type Observable } from 'rxjs';
import { SyncError, type ErrorInfo } from '../errors/sync-error';
import type { MetaPort } from './meta-port';
import { isFenceRecord, isLockRecord, lockMark, readMetaRecord, type FenceRecord, type LockRecord, type MetaRead } from './lock-record';
import type { LockState, ProcessorLock } from './processor-lock';
import { resolveLockOptions, type LockConfig, type StorageLockOptions } from './storage-lock-options';

const UNAVAILABLE: ErrorInfo = Object.freeze({ kind: 'storage', code: 'unavailable' });

export type { LockRecord } from './lock-record';
export { STORAGE_LOCK_DEFAULTS } from './storage-lock-options';
export type { StorageLockOptions } from './storage-lock-options';

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
 * - A storage failure while not holding (a claim refused for a full quota,
 *   a read that failed) is reported once (`{ held: false, lost: false,
 *   error }`, so `status$.lastError` says why nobody sends) and contention
 *   carries on; the next one is reported after a poll that succeeded. A
 *   holder's failed renewal stays a missed heartbeat.
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
  return new StorageLock(meta, resolveLockOptions(options));
}

class StorageLock implements ProcessorLock {
  #held: Held | null = null;
  #sighting: Sighting | null = null;
  // The highest fencing token this instance has read or written: a claim
  // over records that cannot be read still goes above it.
  #fence = 0;
  // Records found unreadable and already reported, until read or rewritten.
  readonly #damaged = new Set<string>();
  // The last write in flight: release waits for it so a late heartbeat
  // cannot land after the release and re-claim the record.
  #lastWrite: Observable<unknown> = EMPTY;
  // An acquisition failed and was reported; report the next one only after a tick that succeeded.
  #failing = false;

  constructor(
    private readonly meta: MetaPort,
    private readonly c: LockConfig,
  ) {}

  hold(): Observable<LockState> {
    return timer(0, this.c.heartbeatMs, this.c.scheduler).pipe(
      // A storage call slower than a heartbeat skips ticks instead of piling up.
      exhaustMap(() =>
        (this.#held === null ? this.#tryAcquire() : this.#renew(this.#held)).pipe(
          // A storage error is a missed heartbeat, never the end of contention;
          // one that keeps this contender from acquiring (a full quota) is
          // reported once, so status$ shows the real reason, not only lockNotHeld.
          tap({ complete: () => (this.#failing = false) }),
          catchError((err: unknown) => {
            if (this.#held !== null || this.#failing) return EMPTY;
            this.#failing = true;
            return of<LockState>({ held: false, lost: false, error: err instanceof SyncError ? err.toInfo() : UNAVAILABLE });
          }),
        ),
      ),
    );
  }

  release(): Observable<boolean> {
    return defer(() => {
      const h = this.#held;
      if (h === null) return of(false);
      this.#held = null;
      const { owner, now, key } = this.c;
      return concat(
        this.#lastWrite.pipe(ignoreElements()),
        this.#read().pipe(
          switchMap((r) =>
            this.#isOurs(r, h.fencingToken)
              ? this.#write<LockRecord>(key, { owner, fencingToken: h.fencingToken, heartbeatAt: now(), beat: h.beat + 1, released: true }).pipe(
                  map(() => true),
                )
              : of(false),
          ),
        ),
      ).pipe(catchError(() => of(false)));
    });
  }

  /** The error to report for this read of `k`, if any: once per damaged record. */
  #damage<A>(k: string, r: MetaRead<A>): ErrorInfo | undefined {
    if (r.kind !== 'unreadable') {
      this.#damaged.delete(k);
      return undefined;
    }
    if (this.#damaged.has(k)) return undefined;
    this.#damaged.add(k);
    return r.error;
  }

  /** `#damage` as the state `hold()` reports it with (nothing when there is none). */
  #reported<A>(k: string, r: MetaRead<A>): Observable<LockState> {
    const error = this.#damage(k, r);
    return error === undefined ? EMPTY : of<LockState>({ held: false, lost: false, error });
  }

  #read(): Observable<MetaRead<LockRecord>> {
    return readMetaRecord(this.meta, this.c.key, isLockRecord).pipe(
      map((r) => {
        if (r.kind === 'read') this.#fence = Math.max(this.#fence, r.value.fencingToken);
        return r;
      }),
    );
  }

  #write<A>(k: string, value: A): Observable<void> {
    const w = this.meta.writeMeta<A>(k, value).pipe(shareReplay({ bufferSize: 1, refCount: false }));
    this.#lastWrite = w.pipe(catchError(() => EMPTY));
    return w;
  }

  #isOurs(r: MetaRead<LockRecord>, token: number): boolean {
    return r.kind === 'read' && r.value.owner === this.c.owner && r.value.fencingToken === token && r.value.released !== true;
  }

  /** Free now? A foreign or unreadable record only once it has not changed for `staleAfterMs`. */
  #isFree(r: MetaRead<LockRecord>): boolean {
    if (r.kind === 'absent' || (r.kind === 'read' && (r.value.released === true || r.value.owner === this.c.owner))) return true;
    const mark = lockMark(r);
    const t = this.c.mono();
    if (this.#sighting === null || this.#sighting.mark !== mark) this.#sighting = { mark, since: t };
    return t - this.#sighting.since >= this.c.staleAfterMs;
  }

  #tryAcquire(): Observable<LockState> {
    return this.#read().pipe(switchMap((r) => concat(this.#reported(this.c.key, r), this.#isFree(r) ? this.#claim(r) : EMPTY)));
  }

  #claim(r: MetaRead<LockRecord>): Observable<LockState> {
    const { owner, key, fenceKey, now, mono, settleMs, scheduler } = this.c;
    return readMetaRecord(this.meta, fenceKey, isFenceRecord).pipe(
      switchMap((f) => {
        const prior = f.kind === 'read' ? f.value.fencingToken : 0;
        const token = Math.max(this.#fence, prior) + 1;
        this.#fence = token;
        const takeover = r.kind === 'unreadable' || (r.kind === 'read' && r.value.released !== true && r.value.owner !== owner);
        const record: LockRecord = { owner, fencingToken: token, heartbeatAt: now(), beat: 0 };
        const m = mono();
        // Fence first: a crash between the two writes leaves it ahead, never behind.
        return concat(
          this.#reported(fenceKey, f),
          this.#write<FenceRecord>(fenceKey, { fencingToken: token }).pipe(ignoreElements()),
          this.#write<LockRecord>(key, record).pipe(ignoreElements()),
          // Let concurrent writes settle, read back: last writer wins.
          timer(settleMs, scheduler).pipe(ignoreElements()),
          this.#read().pipe(switchMap((back) => this.#claimed(back, token, takeover, m))),
        );
      }),
    );
  }

  /** The claim read back: held if it is still ours (`m`: when it was written, monotonic). */
  #claimed(back: MetaRead<LockRecord>, token: number, takeover: boolean, m: number): Observable<LockState> {
    if (!this.#isOurs(back, token)) return this.#reported(this.c.key, back);
    this.#damaged.delete(this.c.key);
    this.#damaged.delete(this.c.fenceKey);
    this.#held = { fencingToken: token, beat: 0, renewedAt: m };
    this.#sighting = null;
    return of<LockState>({ held: true, fencingToken: token, takeover });
  }

  #lose(error?: ErrorInfo): Observable<LockState> {
    this.#held = null;
    return of<LockState>(error === undefined ? { held: false, lost: true } : { held: false, lost: true, error });
  }

  #renew(h: Held): Observable<LockState> {
    const { owner, key, now, mono, staleAfterMs } = this.c;
    // Late by a whole stale period: someone may have taken over already.
    if (mono() - h.renewedAt >= staleAfterMs) return this.#lose();
    return this.#read().pipe(
      switchMap((r) => {
        if (this.#held !== h) return EMPTY; // released meanwhile
        if (r.kind === 'unreadable') {
          // We cannot tell it is still ours: stop, report once, contend
          // again; no readable heartbeat since now.
          this.#sighting = { mark: lockMark(r), since: mono() };
          return this.#lose(this.#damage(key, r));
        }
        if (!this.#isOurs(r, h.fencingToken)) return this.#lose();
        const m = mono();
        const beat = h.beat + 1;
        return this.#write<LockRecord>(key, { owner, fencingToken: h.fencingToken, heartbeatAt: now(), beat }).pipe(
          switchMap(() => {
            h.renewedAt = m;
            h.beat = beat;
            return EMPTY;
          }),
        );
      }),
    );
  }
}
