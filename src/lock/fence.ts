import { EMPTY, NEVER, Subject, concat, defer, finalize, ignoreElements, map, merge, of, share, startWith, switchMap, tap, throwError, type Observable } from 'rxjs';
import { ValidationError } from '../errors/sync-error';
import { isFenceRecord, readMetaRecord, type FenceRecord, type MetaRead } from './lock-record';
import type { MetaPort } from './meta-port';
import type { LockState, ProcessorLock } from './processor-lock';

/** A lock whose holder proves, against the store, that it still holds it before each send and each settlement write. */
export interface FencedLock {
  /**
   * The lock to give the engine: the inner one, except that a failed fence
   * check is reported as `{ held: false, lost: true }` (the gate closes) and
   * the inner lock is released and contended for again.
   */
  readonly lock: ProcessorLock;
  /**
   * Emits whether the token this engine last acquired is still the store's
   * fence (nobody acquired the lock since), then completes; a `false` has
   * already been reported as the loss of the lock. Checks made while one
   * read is in flight share it. Errors as the store's read does.
   */
  check(): Observable<boolean>;
  /** `write$` after a passing check; a failing one errors with `ValidationError('lockNotHeld')` and writes nothing. */
  guardWrite<T>(write$: Observable<T>): Observable<T>;
  /**
   * `send$` after a passing check; after a failing one it never emits: the
   * loss of the lock closes the gate, which unsubscribes it (so the op's
   * processing stops without spending an attempt).
   */
  guardSend<T>(send$: Observable<T>): Observable<T>;
}

const LOST: LockState = Object.freeze({ held: false, lost: true });

/**
 * Fence a processor lock that keeps its fencing token in the store's
 * `<key>.fence` record (the storage lock and the Web Locks lock both do):
 * every acquisition writes a token above every earlier one, so the record
 * equals this engine's token exactly while nobody has acquired the lock
 * since. `check()` reads it; the engine runs it before each send and before
 * each settlement write (`guardMethods`), so a holder that lost the lock
 * without noticing — frozen, then resumed after another tab took over; a
 * stolen Web Lock whose notice has not arrived yet; a storage-lock holder
 * paused past `staleAfterMs` — neither sends nor commits with its stale
 * token. The token is kept after `release()` (and after the lock was
 * reported lost by the inner lock): writes still finishing are allowed for
 * as long as nobody acquired the lock since, which the record says.
 *
 * Residual window: the check and the write that follows are two store
 * calls, not one transaction; a takeover landing between them is not seen
 * by that write (the next call's check sees it). The op is then sent or
 * committed by both holders under the same `Idempotency-Key`: the server
 * applies it once.
 *
 * @example
 * const fenced = fenceLock(createWebLock(meta), meta);
 * const api2 = guardMethods(api, ['send'], (o) => fenced.guardSend(o));
 */
export function fenceLock(inner: ProcessorLock, meta: MetaPort, key = 'processorLock'): FencedLock {
  return new Fence(inner, meta, `${key}.fence`);
}

class Fence implements FencedLock {
  /** The token of this engine's last acquisition (null: none yet, or found stale). */
  #token: number | null = null;
  /** The read in flight, shared by the checks made meanwhile. */
  #reading: Observable<MetaRead<FenceRecord>> | null = null;
  readonly #lost = new Subject<LockState>();
  readonly #recontend = new Subject<void>();
  readonly lock: ProcessorLock;

  constructor(
    private readonly inner: ProcessorLock,
    private readonly meta: MetaPort,
    private readonly fenceKey: string,
  ) {
    this.lock = {
      hold: () =>
        merge(
          this.#lost,
          this.#recontend.pipe(
            map(() => true),
            startWith(false),
            switchMap((again) => concat(again ? inner.release().pipe(ignoreElements()) : EMPTY, inner.hold())),
            tap((s) => {
              if (s.held) this.#token = s.fencingToken;
            }),
          ),
        ),
      release: () => inner.release(),
    };
  }

  check(): Observable<boolean> {
    return defer(() => {
      const token = this.#token;
      if (token === null) return of(false);
      this.#reading ??= readMetaRecord(this.meta, this.fenceKey, isFenceRecord).pipe(
        finalize(() => (this.#reading = null)),
        share(),
      );
      return this.#reading.pipe(
        map((r) => r.kind === 'read' && r.value.fencingToken === token),
        tap((ok) => {
          if (!ok && this.#token === token) this.#stale();
        }),
      );
    });
  }

  guardWrite<T>(write$: Observable<T>): Observable<T> {
    return this.check().pipe(
      switchMap((ok) => (ok ? write$ : throwError(() => new ValidationError('lockNotHeld', 'the processor lock was taken over')))),
    );
  }

  guardSend<T>(send$: Observable<T>): Observable<T> {
    return this.check().pipe(switchMap((ok) => (ok ? send$ : NEVER)));
  }

  /** Someone acquired the lock after us: report it lost (the gate closes), give the inner lock up and contend again. */
  #stale(): void {
    this.#token = null;
    this.#lost.next(LOST);
    this.#recontend.next();
  }
}

/**
 * `target` with each method named in `names` (each returning an
 * Observable) passed through `guard`; every other member as is.
 *
 * @example
 * const store = guardMethods(port, ['complete', 'fail'], (o) => fenced.guardWrite(o));
 */
export function guardMethods<T extends object, K extends keyof T>(target: T, names: readonly K[], guard: <R>(call$: Observable<R>) => Observable<R>): T {
  const guarded = new Map<PropertyKey, unknown>();
  for (const name of names) {
    const method = target[name] as unknown as (...args: unknown[]) => Observable<unknown>;
    guarded.set(name, (...args: unknown[]) => guard(defer(() => method.apply(target, args))));
  }
  // A proxy, not a copy: getters and a class's private fields keep working.
  return new Proxy(target, {
    get: (t, p) => {
      if (guarded.has(p)) return guarded.get(p);
      const v: unknown = Reflect.get(t, p, t);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
    },
  });
}
