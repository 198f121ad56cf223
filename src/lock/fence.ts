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
   * The check before a send: `check()`, except that a check passed less
   * than `sendFreshMs` ago (`FenceOptions`) answers `true` at once, without
   * a store read — unless the inner lock reported anything since (a loss,
   * a release, another acquisition) or this engine released it.
   */
  checkSend(): Observable<boolean>;
  /**
   * `send$` after a passing `checkSend()`; after a failing one it never
   * emits: the loss of the lock closes the gate, which unsubscribes it (so
   * the op's processing stops without spending an attempt).
   */
  guardSend<T>(send$: Observable<T>): Observable<T>;
  /**
   * A commit — the ledger entry and removal of ops the server answered 2xx
   * (`complete`, `completeAll`) — after a passing `checkSend()`: it may
   * reuse a recent check as a send does. A failing one errors with
   * `ValidationError('lockNotHeld')` and writes nothing.
   */
  guardCommit<T>(commit$: Observable<T>): Observable<T>;
}

/** Options of `fenceLock`. */
export interface FenceOptions {
  /** The fence record's key prefix (the lock's key). Default `'processorLock'`. */
  readonly key?: string;
  /**
   * How long a passed check also admits sends, ms; `0` (the default): every
   * send reads the fence. Must stay well below the time after which another
   * engine may take the lock from a holder that is still running
   * (`stealAfterMs`, `staleAfterMs`): see `fenceLock`.
   */
  readonly sendFreshMs?: number;
  /** A clock that never steps (`monotonicClock`), ms; needed with `sendFreshMs`. */
  readonly now?: () => number;
}

const LOST: LockState = Object.freeze({ held: false, lost: true });

const notHeld = (): Observable<never> => throwError(() => new ValidationError('lockNotHeld', 'the processor lock was taken over'));

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
 * Sends (`checkSend`, `guardSend`) and commits (`guardCommit`: the ledger
 * entry and removal of ops the server answered 2xx) may reuse a check that
 * passed less than `sendFreshMs` ago, so a fast drain does not read the
 * store before every request and every merged commit; the other settlement
 * writes (dead-letter moves, rescheduling: `guardWrite`) always read. This
 * widens the residual window for sends and commits only, by at most
 * `sendFreshMs`, and only for a holder that kept running (a stale commit
 * records what the server applied, under keys the new holder uses too):
 * the ways a lock is taken from a holder either go through the
 * holder (it released the lock — frozen, hidden, stopped — or its inner
 * lock reported the loss: both forget the passed check at once) or take
 * seconds of the holder not answering (`stealAfterMs`, `staleAfterMs`),
 * and a page that was frozen or paused meanwhile comes back with its
 * passed check older than `sendFreshMs` on a clock that kept running.
 *
 * @example
 * const fenced = fenceLock(createWebLock(meta), meta, { sendFreshMs: 20, now: monotonicClock(asyncScheduler) });
 * const api2 = guardMethods(api, ['send'], (o) => fenced.guardSend(o));
 */
export function fenceLock(inner: ProcessorLock, meta: MetaPort, options: FenceOptions = {}): FencedLock {
  const sendFreshMs = options.sendFreshMs ?? 0;
  if (!(sendFreshMs >= 0 && Number.isFinite(sendFreshMs))) throw new RangeError('sendFreshMs: expected a finite number ≥ 0');
  if (sendFreshMs > 0 && options.now === undefined) throw new RangeError('sendFreshMs: needs a clock (`now`)');
  return new Fence(inner, meta, `${options.key ?? 'processorLock'}.fence`, sendFreshMs, options.now ?? (() => 0));
}

class Fence implements FencedLock {
  /** The token of this engine's last acquisition (null: none yet, or found stale). */
  #token: number | null = null;
  /** When the last check that passed for `#token` ended (`now()`); null: none since the lock last changed. */
  #passedAt: number | null = null;
  /** The read in flight, shared by the checks made meanwhile. */
  #reading: Observable<MetaRead<FenceRecord>> | null = null;
  readonly #lost = new Subject<LockState>();
  readonly #recontend = new Subject<void>();
  readonly lock: ProcessorLock;

  constructor(
    private readonly inner: ProcessorLock,
    private readonly meta: MetaPort,
    private readonly fenceKey: string,
    private readonly sendFreshMs: number,
    private readonly now: () => number,
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
              // Whatever the inner lock says, an earlier passed check no longer admits sends.
              this.#passedAt = null;
              if (s.held) this.#token = s.fencingToken;
            }),
          ),
        ),
      release: () => {
        this.#passedAt = null;
        return inner.release();
      },
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
          if (this.#token !== token) return;
          if (ok) this.#passedAt = this.now();
          else this.#stale();
        }),
      );
    });
  }

  checkSend(): Observable<boolean> {
    return defer(() => {
      const at = this.#passedAt;
      const age = at === null ? -1 : this.now() - at;
      // A clock that went back is not trusted either.
      return this.#token !== null && age >= 0 && age < this.sendFreshMs ? of(true) : this.check();
    });
  }

  guardWrite<T>(write$: Observable<T>): Observable<T> {
    return this.check().pipe(switchMap((ok) => (ok ? write$ : notHeld())));
  }

  guardCommit<T>(commit$: Observable<T>): Observable<T> {
    return this.checkSend().pipe(switchMap((ok) => (ok ? commit$ : notHeld())));
  }

  guardSend<T>(send$: Observable<T>): Observable<T> {
    return this.checkSend().pipe(switchMap((ok) => (ok ? send$ : NEVER)));
  }

  /** Someone acquired the lock after us: report it lost (the gate closes), give the inner lock up and contend again. */
  #stale(): void {
    this.#token = null;
    this.#passedAt = null;
    this.#lost.next(LOST);
    this.#recontend.next();
  }
}

/**
 * `target` with each method named in `names` (each returning an
 * Observable) passed through `guard` (told which method it guards); every
 * other member as is. A method reads as the same function every time
 * (callers may compare them: the settle lane merges the writes that share
 * a `writeAll`).
 *
 * @example
 * const store = guardMethods(port, ['complete', 'fail'], (o, name) => (name === 'complete' ? fenced.guardCommit(o) : fenced.guardWrite(o)));
 */
export function guardMethods<T extends object, K extends keyof T>(
  target: T,
  names: readonly K[],
  guard: <R>(call$: Observable<R>, name: K) => Observable<R>,
): T {
  const guarded = new Map<PropertyKey, unknown>();
  for (const name of names) {
    const method = target[name] as unknown as (...args: unknown[]) => Observable<unknown>;
    guarded.set(name, (...args: unknown[]) => guard(defer(() => method.apply(target, args)), name));
  }
  const bound = new Map<PropertyKey, { readonly of: unknown; readonly fn: unknown }>();
  // A proxy, not a copy: getters and a class's private fields keep working.
  return new Proxy(target, {
    get: (t, p) => {
      if (guarded.has(p)) return guarded.get(p);
      const v: unknown = Reflect.get(t, p, t);
      if (typeof v !== 'function') return v;
      let b = bound.get(p);
      if (b?.of !== v) bound.set(p, (b = { of: v, fn: (v as (...a: unknown[]) => unknown).bind(t) }));
      return b.fn;
    },
  });
}
