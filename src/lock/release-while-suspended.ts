import { concat, distinctUntilChanged, ignoreElements, of, switchMap, type Observable } from 'rxjs';
import type { LockState, ProcessorLock } from './processor-lock';

const GIVEN_UP: LockState = Object.freeze({ held: false, lost: false });

/**
 * `inner`, given up while `suspended$` says the page cannot run (Page
 * Lifecycle `freeze`, or `pagehide`: reloaded, closed, put in the
 * back/forward cache) and contended for again when it can (`resume`,
 * `pageshow`). On suspension it reports `{ held: false, lost: false }`
 * first — the gate closes, so no new send starts and the request in flight
 * is aborted without spending an attempt — then releases the lock, so
 * another tab takes over at once instead of waiting for a frozen page.
 * `suspended$` must emit its current value on subscription.
 *
 * ```
 * suspended$  f-----t------f--
 * hold()      -h----n------h--     (h: inner held, n: given up; released after n)
 * ```
 *
 * @example
 * const lock = releaseWhileSuspended(createWebLock(meta), platformSuspended$());
 */
export function releaseWhileSuspended(inner: ProcessorLock, suspended$: Observable<boolean>): ProcessorLock {
  return {
    hold: () =>
      suspended$.pipe(
        distinctUntilChanged(),
        switchMap((suspended) => (suspended ? concat(of(GIVEN_UP), inner.release().pipe(ignoreElements())) : inner.hold())),
      ),
    release: () => inner.release(),
  };
}
