import type { SchedulerLike } from 'rxjs';
import type { LivenessChannelConstructor } from './holder-liveness';
import type { ProcessorLock } from './processor-lock';
import type { LockManagerLike } from './web-lock-manager';

/** Options of `createWebLock`. */
export interface WebLockOptions {
  /** The Web Locks API. Default `navigator.locks` (browsers; see `platformLockManager`). */
  readonly locks?: LockManagerLike;
  /**
   * Name of the Web Lock. Default `sync-engine:<key>:<store id>`, the store
   * id being a random id kept in the store's metadata under `<key>.id`
   * (made once, under a Web Lock of its own), so two stores of one origin
   * never share a lock and every engine on one store does.
   */
  readonly name?: string;
  /**
   * Metadata key prefix, the storage lock's: the fencing token lives under
   * `<key>.fence`, the store id under `<key>.id`. Default `'processorLock'`.
   */
  readonly key?: string;
  /** Wait before asking again after the store failed while the lock was being taken, ms. Default 1 000. */
  readonly retryMs?: number;
  /** Runs the `retryMs` waits. Default `asyncScheduler`. */
  readonly scheduler?: SchedulerLike;
  /** Makes the store id. Default: a UUID (v7, as op ids are). */
  readonly newId?: () => string;
  /**
   * The lock to use instead when the platform refuses Web Locks (no
   * `navigator.locks`, or a request rejected with other than `AbortError`:
   * an opaque origin, a sandboxed frame). Default: none — keep asking
   * every `retryMs` and report the error.
   */
  readonly fallback?: () => ProcessorLock;
  /**
   * Take the lock over (`steal`) from a holder that has stopped answering
   * for about this long, ms: its page was frozen without a `freeze` event
   * (DevTools, a debugger pause) and would otherwise never release it. The
   * waiting tabs probe the holder every third of it over a
   * `BroadcastChannel`; the holder answers from a timer task. The stolen
   * holder is fenced out by the new token. 0: never steal. Default 3 000.
   */
  readonly stealAfterMs?: number;
  /** The `BroadcastChannel` the probes use. Default: the platform's in browsers; none (no probing, no stealing) elsewhere or with `null`. */
  readonly livenessChannel?: LivenessChannelConstructor | null;
}

/** Defaults of `WebLockOptions`. */
export const WEB_LOCK_DEFAULTS = Object.freeze({
  key: 'processorLock',
  retryMs: 1_000,
  stealAfterMs: 3_000,
  /** The Web Lock under which a store's id is made, once, for every store of the origin. */
  idLockName: 'sync-engine:store-id',
});
