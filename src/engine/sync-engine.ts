import type { Observable } from 'rxjs';
import type { AttemptOutcome } from '../../streams/outcome';
import type { ErrorInfo } from '../errors/sync-error';
import type { OpId, PendingOp } from '../op/pending-op';
import type { FailedOps, FailedRecord, FailureReason, StoreChange } from '../store/op-store';

/** What the app hands to `engine.enqueue`. */
export interface EnqueueInput {
  readonly type: string;
  readonly payload: unknown;
  /** Correlates the op with an optimistic layer; generated when absent. */
  readonly txToken?: string;
}

/** What `discardAccount` needs to be told. */
export interface DiscardAccountOptions {
  /** Must be `true`: the ops are dropped for good, never sent. */
  readonly confirm?: boolean;
}

/** Why processing is not running right now (empty when it may run). */
export type GateReason = 'offline' | 'lockNotHeld' | 'signedOut' | 'authRequired' | 'stopped' | 'powerSaving' | 'hidden';

/** The engine's state, for UIs. Emitted on every change (distinct). */
export interface EngineStatus {
  readonly online: boolean;
  readonly lockHeld: boolean;
  /** True while the drain is allowed to run (the gate is open). */
  readonly processing: boolean;
  readonly authRequired: boolean;
  readonly pending: number;
  readonly failed: number;
  /**
   * Pending ops waiting for their account to sign in (accounts in use,
   * `account$`): while signed out, every pending op; while signed in, the
   * ops of other accounts the drain's last full pass over the queue left
   * in place. Absent when none.
   */
  readonly waitingForAccount?: number;
  /** Why the gate is closed; empty while processing. */
  readonly blockedBy: readonly GateReason[];
  /** The op being sent, if any. */
  readonly inFlight?: OpId;
  /** When the head op will be tried again (epoch ms), while backing off. */
  readonly nextAttemptAt?: number;
  readonly lastError?: ErrorInfo;
}

/** The final outcome of one operation, for commit or rollback. */
export interface OpResult {
  readonly opId: OpId;
  readonly txToken: string;
  readonly type: string;
  readonly outcome: 'committed' | 'failed' | 'conflict';
  /** The decoded `data` of the server's answer, for `committed`. */
  readonly data?: unknown;
  readonly error?: ErrorInfo;
  /** Fixed user-facing text for `failed` and `conflict`. */
  readonly message?: string;
  /** For `failed`: why it went to the dead-letter queue. */
  readonly reason?: FailureReason;
  /** For `conflict`: what reconciliation decided. */
  readonly resolution?: 'retry' | 'drop' | 'fail';
}

/**
 * Lifecycle events of the pipeline. Metrics, tracing and logging are
 * subscribers of this one stream; it never carries payloads or tokens.
 */
export type EngineEvent =
  | { readonly type: 'enqueued'; readonly at: number; readonly op: PendingOp }
  /** `attemptStarted`, `attemptSucceeded`, `attemptFailed`: as the streams report them. */
  | AttemptOutcome
  | {
      readonly type: 'backoff';
      readonly at: number;
      readonly op: PendingOp;
      readonly delayMs: number;
      /** True when the wait came from a server `Retry-After`. */
      readonly retryAfter: boolean;
    }
  | { readonly type: 'completed'; readonly at: number; readonly op: PendingOp; readonly fromLedger: boolean }
  | { readonly type: 'failed'; readonly at: number; readonly record: FailedRecord }
  | { readonly type: 'conflict'; readonly at: number; readonly op: PendingOp; readonly resolution: 'retry' | 'drop' | 'fail' }
  | { readonly type: 'lockAcquired'; readonly at: number; readonly fencingToken: number; readonly takeover: boolean }
  | { readonly type: 'lockLost'; readonly at: number }
  /**
   * The lock record (or its fencing record) could not be read: it failed to
   * decrypt or decode (`error: { kind: 'storage', code: 'corrupt' }`). Once
   * per damaged record; the lock treats it as stale after `staleAfterMs`
   * and takes it over. Also sets `status$.lastError`.
   */
  | { readonly type: 'lockError'; readonly at: number; readonly error: ErrorInfo }
  | { readonly type: 'lockReleased'; readonly at: number }
  | { readonly type: 'authRequired'; readonly at: number }
  | { readonly type: 'tokenRefreshed'; readonly at: number }
  | { readonly type: 'gate'; readonly at: number; readonly open: boolean; readonly blockedBy: readonly GateReason[] };

/** The engine as apps, the optimistic store and the Angular service see it. */
export interface SyncEngine {
  /**
   * Validate, persist and resolve with the stored op (rejects typed). With
   * accounts in use (`account$`) the op is stamped with the signed-in
   * account; signed out, it rejects with `AuthError` code `signed_out` and
   * nothing is stored.
   */
  enqueue(input: EnqueueInput): Promise<PendingOp>;
  /** Start processing (acquires the lock; idempotent). */
  start(): void;
  /** Stop processing: abort the in-flight request, release the lock. */
  stop(): Promise<void>;
  readonly status$: Observable<EngineStatus>;
  readonly results$: Observable<OpResult>;
  readonly events$: Observable<EngineEvent>;
  /**
   * The dead-letter queue. `retry` re-queues at the tail under a new op id
   * (same `txToken`), with a new idempotency key only after a definitive
   * refusal (`retryKeyPolicy`).
   */
  readonly failedOps: FailedOps;
  /** Durable changes to the queues (from the store's change feed). */
  readonly changes$: Observable<StoreChange>;
  /**
   * The pending queue in FIFO order: emits each op, reading the store page
   * by page (bounded memory), each page after the first in a later task
   * (a long queue never holds the event loop), then completes. Cold: each
   * subscription reads the queue afresh.
   */
  pendingOps(pageSize?: number): Observable<PendingOp>;
}

/**
 * The engine returned by `createSyncEngine`: the `SyncEngine` contract plus
 * the controls only the app that owns the engine needs.
 */
export interface SyncEngineHandle extends SyncEngine {
  /**
   * Leave `authRequired` after the user signed in again (the app's
   * `getToken` now returns a valid token): the head op is tried again.
   * Idempotent; harmless when not in `authRequired`.
   */
  resumeAuth(): void;
  /** `stop()`, then drop every subscription (platform listeners included). The engine is unusable after. */
  dispose(): Promise<void>;
  /**
   * Drop every pending op of an account that is not signed in, for good:
   * the only way an account's queued work is ever removed (sign-out keeps
   * it, encrypted and pending, for that account's next sign-in). Each op
   * goes through the store's fail-then-discard path (reason `dropped`);
   * no `results$` entry. Resolves with how many ops were dropped. Rejects
   * with `ValidationError`: `notConfirmed` without `{ confirm: true }`,
   * `accountSignedIn` for the account signed in now.
   *
   * @example
   * if (await askUser('Discard 3 unsynced changes of Ada?')) await engine.discardAccount('ada', { confirm: true });
   */
  discardAccount(accountId: string, options?: DiscardAccountOptions): Promise<number>;
}
