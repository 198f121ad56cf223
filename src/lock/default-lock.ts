import { asyncScheduler, type Observable } from 'rxjs';
import { fenceLock, type FencedLock } from './fence';
import { monotonicClock } from './monotonic-clock';
import type { MetaPort } from './meta-port';
import { releaseWhileSuspended } from './release-while-suspended';
import { createStorageLock } from './storage-lock';
import type { StorageLockOptions } from './storage-lock-options';
import { createWebLock, WEB_LOCK_DEFAULTS, type WebLockOptions } from './web-lock';
import { STORAGE_LOCK_DEFAULTS } from './storage-lock-options';
import { platformLockManager, type LockManagerLike } from './web-lock-manager';

/** Options of `createDefaultLock`: the storage lock's (used where Web Locks are not), and the platform's inputs. */
export interface DefaultLockOptions extends StorageLockOptions {
  /** The Web Locks API; `null`: do not use Web Locks. Default `platformLockManager()` (browsers only). */
  readonly locks?: LockManagerLike | null;
  /** True while the page cannot run (`platformSuspended$()`): the lock is given up meanwhile. Default: never. */
  readonly suspended$?: Observable<boolean>;
  /** The Web Lock's: steal from a holder that stopped answering for this long, ms (0: never). Default 3 000 (`WEB_LOCK_DEFAULTS`). */
  readonly stealAfterMs?: number;
  /** The Web Lock's probe channel (`WebLockOptions.livenessChannel`). Default: the platform's `BroadcastChannel` in browsers. */
  readonly livenessChannel?: WebLockOptions['livenessChannel'];
}

/**
 * How long a passed fence check also admits sends, ms (`FenceOptions.sendFreshMs`):
 * at most this, and at most a tenth of the shortest time after which another
 * engine may take the lock from a holder that stopped answering.
 */
export const FENCE_SEND_FRESH_MS = 100;

/**
 * The engine's default processor lock: Web Locks wherever the browser has
 * them (`createWebLock`), the storage lock elsewhere (Node, Electron's main
 * process) and as the fallback when the browser refuses Web Locks; given up
 * while the page is suspended (`releaseWhileSuspended`); fenced against the
 * store's token record (`fenceLock`) — both locks keep it under
 * `<key>.fence`. Every engine on one store must use the same kind: the
 * default picks the same one in every tab of a browser.
 *
 * @example
 * const fenced = createDefaultLock(storePortFromOpStore(store), { suspended$: platformSuspended$() });
 * fenced.lock.hold().subscribe((s) => console.log(s.held));
 */
export function createDefaultLock(meta: MetaPort, options: DefaultLockOptions = {}): FencedLock {
  const { locks: given, suspended$, stealAfterMs, livenessChannel, ...storageOptions } = options;
  // Made now so its timings are checked now, not when the browser refuses Web Locks.
  const storage = createStorageLock(meta, storageOptions);
  const locks = given === undefined ? platformLockManager() : (given ?? undefined);
  const base = locks === undefined ? storage : createWebLock(meta, { locks, key: options.key, scheduler: options.scheduler, stealAfterMs, livenessChannel, fallback: () => storage });
  const takeoverMs = [options.staleAfterMs ?? STORAGE_LOCK_DEFAULTS.staleAfterMs, stealAfterMs ?? WEB_LOCK_DEFAULTS.stealAfterMs].filter((ms) => ms > 0);
  const sendFreshMs = Math.min(FENCE_SEND_FRESH_MS, ...takeoverMs.map((ms) => ms / 10));
  const now = options.monotonicNow ?? monotonicClock(options.scheduler ?? asyncScheduler);
  return fenceLock(suspended$ === undefined ? base : releaseWhileSuspended(base, suspended$), meta, { key: options.key, sendFreshMs, now });
}
