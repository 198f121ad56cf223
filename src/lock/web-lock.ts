import { Observable, asyncScheduler, defer, firstValueFrom, of, timer, type Subscription } from 'rxjs';
import { SyncError, ValidationError, type ErrorInfo } from '../errors/sync-error';
import { createOpId } from '../op/ids';
import { timerOptionMs } from '../policy/timer-option';
import { UNANSWERED_PROBES, holderLiveness, platformLivenessChannel, type HolderLiveness } from './holder-liveness';
import { isFenceRecord, readMetaRecord } from './lock-record';
import type { MetaPort } from './meta-port';
import type { LockState, ProcessorLock } from './processor-lock';
import { isAbortError, platformLockManager, type LockManagerLike } from './web-lock-manager';
import { WEB_LOCK_DEFAULTS, type WebLockOptions } from './web-lock-options';

export { WEB_LOCK_DEFAULTS } from './web-lock-options';
export type { WebLockOptions } from './web-lock-options';

/** What one request for the lock ended with: ask again now, steal it now (its holder stopped answering), after `retryMs`, or the platform refused Web Locks. */
type Outcome = 'again' | 'steal' | 'retry' | 'refused';

interface Grant {
  readonly token: number;
  readonly release: () => void;
}

interface Config {
  readonly locks: LockManagerLike | undefined;
  readonly name: string | undefined;
  readonly fenceKey: string;
  readonly idKey: string;
  readonly key: string;
  readonly retryMs: number;
  readonly scheduler: NonNullable<WebLockOptions['scheduler']>;
  readonly newId: () => string;
  readonly fallback: WebLockOptions['fallback'];
  /** The holder's liveness for a lock name; undefined: never probe, never steal. */
  readonly liveness: ((name: string) => HolderLiveness) | undefined;
}

const UNAVAILABLE: ErrorInfo = Object.freeze({ kind: 'storage', code: 'unavailable' });
const isStoreId = (u: unknown): u is string => typeof u === 'string' && u.length > 0;

/**
 * The processor lock on the Web Locks API (`navigator.locks`): an exclusive
 * lock held for as long as this engine holds processing. The browser grants
 * it to one page (or worker) of the origin at a time, queues the others and
 * hands it to the next the moment its holder releases it — or its page is
 * closed, reloaded, crashes or is discarded. No heartbeat, no stale period:
 * a reload or a closed tab hands over at once.
 *
 * - Acquire: once granted, bump the fencing token kept in the store (the
 *   storage lock's `<key>.fence` record: read, one above every token read
 *   or written, write), then report `{ held: true, fencingToken }`. The
 *   engine checks that record before each send and each settlement write
 *   (`fenceLock`), so a page that lost the lock (frozen and resumed after
 *   another took over) can do neither with its stale token.
 * - Release (`release()`): resolve the grant's callback; the next in line
 *   gets the lock. Unsubscribing `hold()` stops asking but keeps a lock
 *   already held until `release()`, like the storage lock.
 * - Stolen (another request with `steal: true`): reported `{ held: false,
 *   lost: true }` at once, then the lock is asked for again. The engine
 *   never steals (`docs/operating.md`).
 * - The store failing while the token is bumped: the lock is released,
 *   the failure reported once (`{ held: false, error }`), and asked for
 *   again after `retryMs`. An unreadable fence record is reported once and
 *   overwritten with a token above the last this lock saw.
 * - The platform refusing Web Locks (a request rejected with other than
 *   `AbortError`): `fallback()` (the storage lock, in `createSyncEngine`)
 *   takes over for good.
 *
 * @example
 * const lock = createWebLock(storePortFromOpStore(store), { fallback: () => createStorageLock(meta) });
 * const sub = lock.hold().subscribe((s) => console.log(s.held));
 * // … later
 * sub.unsubscribe(); lock.release().subscribe();
 */
export function createWebLock(meta: MetaPort, options: WebLockOptions = {}): ProcessorLock {
  const key = options.key ?? WEB_LOCK_DEFAULTS.key;
  if (options.name !== undefined && options.name.length === 0) throw new ValidationError('invalidOptions', 'lock.name: expected a non-empty string');
  const scheduler = options.scheduler ?? asyncScheduler;
  const stealAfterMs = timerOptionMs('lock.stealAfterMs', options.stealAfterMs ?? WEB_LOCK_DEFAULTS.stealAfterMs, { allowZero: true });
  const Channel = options.livenessChannel === undefined ? platformLivenessChannel() : (options.livenessChannel ?? undefined);
  return new WebLock(meta, {
    locks: options.locks ?? platformLockManager(),
    name: options.name,
    key,
    fenceKey: `${key}.fence`,
    idKey: `${key}.id`,
    retryMs: timerOptionMs('lock.retryMs', options.retryMs ?? WEB_LOCK_DEFAULTS.retryMs),
    scheduler,
    // A UUIDv7 (random beyond its time stamp): unique per store, no id library of its own.
    newId: options.newId ?? createOpId,
    fallback: options.fallback,
    liveness:
      Channel === undefined || stealAfterMs === 0
        ? undefined
        : (name) => holderLiveness(name, Channel, Math.max(1, Math.round(stealAfterMs / UNANSWERED_PROBES)), scheduler),
  });
}

class WebLock implements ProcessorLock {
  #grant: Grant | null = null;
  /** The highest fencing token this lock has read or written. */
  #fence = 0;
  #name: Promise<string> | null = null;
  #fallback: ProcessorLock | null = null;
  /** A failure was reported and nothing has succeeded since: report the next one only after a success. */
  #failing = false;
  #fenceDamaged = false;

  constructor(
    private readonly meta: MetaPort,
    private readonly c: Config,
  ) {}

  hold(): Observable<LockState> {
    return new Observable<LockState>((subscriber) => {
      const abort = new AbortController();
      let active = true;
      let waiting: Subscription | undefined;
      const emit = (s: LockState): void => {
        if (active) subscriber.next(s);
      };
      const ask = (steal = false): void => {
        if (!active) return;
        if (this.#fallback === null && this.c.locks === undefined && this.c.fallback !== undefined) this.#fallback = this.c.fallback();
        if (this.#fallback !== null) {
          waiting = this.#fallback.hold().subscribe(subscriber);
          return;
        }
        void this.#requestOnce(abort.signal, () => active, emit, steal).then((outcome) => {
          if (!active) return;
          if (outcome === 'refused' && this.c.fallback !== undefined) this.#fallback = this.c.fallback();
          if (outcome === 'steal') ask(true);
          else if (outcome === 'again' || this.#fallback !== null) ask();
          else waiting = timer(this.c.retryMs, this.c.scheduler).subscribe(() => ask());
        });
      };
      ask();
      return () => {
        active = false;
        // Aborts a request still waiting; a lock already granted stays held until release().
        abort.abort();
        waiting?.unsubscribe();
      };
    });
  }

  release(): Observable<boolean> {
    return defer(() => {
      if (this.#fallback !== null) return this.#fallback.release();
      const g = this.#grant;
      if (g === null) return of(false);
      this.#grant = null;
      g.release();
      return of(true);
    });
  }

  /**
   * One request: wait for the lock, bump the fence, hold it until released
   * or stolen. While it waits, the holder is probed (`stealAfterMs`): one
   * that stopped answering ends the wait with `'steal'`, and the next
   * request takes the lock from it (`steal`: granted at once, the holder's
   * request rejected) — its acquisition bumps the fence like any other, so
   * the holder it was taken from can neither send nor commit when it runs
   * again. While it holds, this lock answers the others' probes.
   */
  async #requestOnce(signal: AbortSignal, active: () => boolean, emit: (s: LockState) => void, steal: boolean): Promise<Outcome> {
    const locks = this.c.locks;
    if (locks === undefined) return this.#failed(new ValidationError('invalidOptions', 'lock: no Web Locks API'), emit);
    let name: string;
    try {
      name = await this.#lockName(locks);
    } catch (err) {
      return this.#failed(err, emit);
    }
    const liveness = this.c.liveness?.(name);
    // Set inside the callback (a holder object: flow analysis does not see callbacks).
    const mine: { grant: Grant | null; silent: boolean; stopServing?: () => void } = { grant: null, silent: false };
    // This request's own abort: the engine stopping asking, or the holder found unresponsive.
    const waiting = new AbortController();
    const stopWaiting = (): void => waiting.abort();
    signal.addEventListener('abort', stopWaiting);
    if (signal.aborted) waiting.abort();
    const probe = steal
      ? undefined
      : liveness?.silence$.subscribe(() => {
          mine.silent = true;
          waiting.abort();
        });
    let outcome: Outcome = 'again';
    try {
      // Browsers refuse `signal` with `steal`; a steal is granted at once anyway.
      const options = steal ? { mode: 'exclusive' as const, steal: true } : { mode: 'exclusive' as const, signal: waiting.signal };
      await locks.request(name, options, async () => {
        probe?.unsubscribe();
        if (!active()) return;
        mine.stopServing = liveness?.serve();
        let token: number;
        try {
          token = await this.#bumpFence(emit);
        } catch (err) {
          outcome = this.#failed(err, emit);
          return;
        }
        // Stopped while the token was written: nobody would release it.
        if (!active()) return;
        this.#failing = false;
        await new Promise<void>((resolve) => {
          mine.grant = this.#grant = { token, release: resolve };
          emit({ held: true, fencingToken: token, takeover: steal });
        });
      });
      return outcome;
    } catch (err) {
      const held = mine.grant !== null && this.#grant === mine.grant;
      if (held) this.#grant = null;
      if (isAbortError(err)) {
        // Aborted while waiting (we stopped asking, or its holder stopped answering), or stolen while held.
        if (held) emit({ held: false, lost: true });
        return mine.silent && mine.grant === null ? 'steal' : 'again';
      }
      return mine.grant === null ? this.#failed(err, emit) : 'again';
    } finally {
      probe?.unsubscribe();
      mine.stopServing?.();
      signal.removeEventListener('abort', stopWaiting);
    }
  }

  /** A failure: the store's (reported once, ask again after `retryMs`) or the platform refusing Web Locks. */
  #failed(err: unknown, emit: (s: LockState) => void): Outcome {
    const fromStore = err instanceof SyncError;
    if (!fromStore && this.c.fallback !== undefined) return 'refused';
    if (!this.#failing) emit({ held: false, lost: false, error: fromStore ? err.toInfo() : UNAVAILABLE });
    this.#failing = true;
    return 'retry';
  }

  /** The lock's name: given, or made from the store's id (created once, under a Web Lock of its own). */
  #lockName(locks: LockManagerLike): Promise<string> {
    if (this.c.name !== undefined) return Promise.resolve(this.c.name);
    this.#name ??= (async () => {
      const id = (await locks.request(WEB_LOCK_DEFAULTS.idLockName, { mode: 'exclusive' }, async () => {
        const r = await firstValueFrom(readMetaRecord(this.meta, this.c.idKey, isStoreId));
        if (r.kind === 'read') return r.value;
        const made = this.c.newId();
        await firstValueFrom(this.meta.writeMeta(this.c.idKey, made), { defaultValue: undefined });
        return made;
      })) as string;
      return `sync-engine:${this.c.key}:${id}`;
    })().catch((err: unknown) => {
      this.#name = null;
      throw err;
    });
    return this.#name;
  }

  /** Under the lock: the next fencing token, written to the store's fence record. */
  async #bumpFence(emit: (s: LockState) => void): Promise<number> {
    const f = await firstValueFrom(readMetaRecord(this.meta, this.c.fenceKey, isFenceRecord));
    if (f.kind === 'unreadable' && !this.#fenceDamaged) emit({ held: false, lost: false, error: f.error });
    this.#fenceDamaged = f.kind === 'unreadable';
    const token = Math.max(this.#fence, f.kind === 'read' ? f.value.fencingToken : 0) + 1;
    await firstValueFrom(this.meta.writeMeta(this.c.fenceKey, { fencingToken: token }), { defaultValue: undefined });
    this.#fence = token;
    return token;
  }
}
