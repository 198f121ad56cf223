import type { Observable } from 'rxjs';
import type { ErrorInfo } from '../errors/sync-error';

/** What a lock contender knows about holding the processor lock. */
export type LockState =
  | {
      readonly held: true;
      /** Increments on every acquisition of the lock by anyone. */
      readonly fencingToken: number;
      /** True when the lock was taken over from a holder whose heartbeat went stale. */
      readonly takeover: boolean;
    }
  | {
      readonly held: false;
      /** True when this contender held the lock and found it gone (renewal failed or stale). */
      readonly lost: boolean;
      /**
       * Set when the lock record (or its fencing record) could not be read:
       * it failed to decrypt or decode (`{ kind: 'storage', code: 'corrupt' }`).
       * Reported once per damaged record; contention carries on and recovers.
       */
      readonly error?: ErrorInfo;
    };

/**
 * The single-processor lock. Kept behind this interface so a Web Locks
 * (`navigator.locks`) implementation can replace the storage-backed one in
 * browsers.
 *
 * @example
 * const sub = lock.hold().subscribe((s) => (s.held ? startDraining(s.fencingToken) : stopDraining()));
 * // shutting down:
 * sub.unsubscribe();
 * lock.release().subscribe();
 */
export interface ProcessorLock {
  /**
   * Contend for the lock while subscribed: emits each change of holding
   * (acquired, lost). While held, the implementation keeps the lock alive
   * (heartbeat). Never errors. Unsubscribing stops contending and
   * heartbeats but does not release the record — call `release()`; a crash
   * looks exactly like an unsubscription without release.
   */
  hold(): Observable<LockState>;
  /**
   * Give the lock up if this contender holds it: emits `true` when it did
   * release, `false` when it held nothing, then completes. Never errors.
   */
  release(): Observable<boolean>;
}
