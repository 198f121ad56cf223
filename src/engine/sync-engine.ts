import type { Observable } from 'rxjs';
import type { AttemptOutcome } from '../../streams/outcome';
import type { ErrorInfo } from '../errors/sync-error';
import type { OpId, PendingOp } from '../op/pending-op';
import type { RouteTable } from '../router/route-types';
import type { FailedRecord, FailureReason, StoreChange } from '../store/op-store';
import type { EnqueueInputOf, OpResultOf } from './typed-ops';
import type { EngineFailedOps } from './engine-failed-ops';
import type { WhenIdleOptions } from './when-idle';

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
   * Everything is synced: no op pending that could be sent now, no request
   * out, and every settled op's `results$` entry emitted (failed ops are
   * settled). With accounts in use, ops waiting for another account
   * (`waitingForAccount`) do not count: they cannot be sent until it signs
   * in. False until the queue's counts were first read. `whenIdle()` waits
   * for the ops enqueued before it; this flag for the whole queue.
   */
  readonly synced: boolean;
  /**
   * Pending ops waiting for their account to sign in (accounts in use,
   * `account$`): while signed out, every pending op; while signed in, the
   * ops of other accounts the drain's last full pass over the queue left
   * in place. Absent when none.
   */
  readonly waitingForAccount?: number;
  /** Why the gate is closed; empty while processing. */
  readonly blockedBy: readonly GateReason[];
  /**
   * The op being sent, if any (with `concurrency`: the last one sent). In an
   * engine that does not hold the lock: the op the holder (another tab) says
   * it is sending, over the cross-tab channel; a word not renewed falls
   * back to none within about three `idlePollMs`.
   */
  readonly inFlight?: OpId;
  /**
   * With `concurrency` or `batch`: requests on the wire now (a batch counts
   * its ops). Absent when none, and in strict FIFO mode (see `inFlight`).
   */
  readonly inFlightCount?: number;
  /**
   * With `concurrency` or `batch`: ordering keys whose next op waits (backoff,
   * a stored wait, a restart after storage trouble) — each blocks only its
   * own key; the latest reason is `lastError`. Absent when none.
   */
  readonly blockedKeys?: number;
  /** When the head op will be tried again (epoch ms), while backing off. */
  readonly nextAttemptAt?: number;
  readonly lastError?: ErrorInfo;
}

/** The final outcome of one operation, for commit or rollback. */
export interface OpResult {
  readonly opId: OpId;
  readonly txToken: string;
  readonly type: string;
  /**
   * `cancelled`: the app withdrew the op with `cancel(opId)` before it was
   * sent again. `unknown`: the op left the queue in another tab or process
   * and neither its message nor the store (ledger, `failed_ops`) told this
   * engine how — it was cancelled, dropped or discarded there; never a
   * commit the ledger recorded (roll back, refetch if it matters).
   */
  readonly outcome: 'committed' | 'failed' | 'conflict' | 'cancelled' | 'unknown';
  /** The decoded `data` of the server's answer, for `committed`. */
  readonly data?: unknown;
  /** For `failed` and `conflict`: why; for `cancelled`: the last attempt's error, if it had been tried (it may have been applied, see `cancel`). */
  readonly error?: ErrorInfo;
  /** Fixed user-facing text for `failed`, `conflict` and `cancelled`. */
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
  /** The app cancelled the op (`cancel(opId)`): it left the queue unsent. */
  | { readonly type: 'cancelled'; readonly at: number; readonly op: PendingOp }
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

/**
 * The engine without its metrics: what `createEngineCore` builds, and all
 * the optimistic store and `watchFailedOps` need. Apps hold a `SyncEngine`
 * (`createSyncEngine`), which is this plus `metrics$`. Typed by its route
 * table `R` (inferred by `createSyncEngine` from
 * `defineRoutes`): `enqueue` takes only declared types with their payload,
 * `results$` narrows by `type`. `EngineCore` without a type argument is
 * untyped (any type string, payload checked at run time only); every typed
 * engine is assignable to it. (The default is `any`, not `RouteTable`:
 * `results$` depends on `keyof R`, which makes `EngineCore<R>` invariant.)
 */
export interface EngineCore<R extends RouteTable = any> {
  /**
   * Validate, persist and resolve with the stored op (rejects typed). With
   * accounts in use (`account$`) the op is stamped with the signed-in
   * account; signed out, it rejects with `AuthError` code `signed_out` and
   * nothing is stored.
   */
  enqueue<K extends keyof R & string>(input: EnqueueInputOf<R, K>): Promise<PendingOp>;
  /** Start processing (acquires the lock; idempotent). */
  start(): void;
  /** Stop processing: abort the in-flight request, release the lock. */
  stop(): Promise<void>;
  readonly status$: Observable<EngineStatus>;
  readonly results$: Observable<OpResultOf<R>>;
  readonly events$: Observable<EngineEvent>;
  /**
   * The dead-letter queue. `retry` re-queues at the tail under a new op id
   * (same `txToken`: correlate results by `txToken`), with a new
   * idempotency key only after a definitive refusal (`retryKeyPolicy`);
   * `retryAll` and `discardAll` do it for every record.
   */
  readonly failedOps: EngineFailedOps;
  /**
   * Resolves once every op enqueued before the call (through this engine:
   * `enqueue`, also calls not yet resolved, and `failedOps.retry`) — and
   * every older op in the queue — has settled (committed, cancelled, or in
   * `failed_ops`) and its `results$` entry was emitted. Rejects with a
   * `TimeoutError` (`code: 'idle_timeout'`) after `timeoutMs`, with
   * `signal.reason` when `signal` aborts. Ops enqueued after the call are
   * not waited for, nor ops the drain cannot send now: with accounts in
   * use, another account's (and, signed out, every op).
   */
  whenIdle(options?: WhenIdleOptions): Promise<void>;
  /**
   * Try now: end the engine's own backoff waits (after a failed attempt, a
   * stored wait from an earlier session, a restart after storage trouble)
   * and wake an idle drain. A wait the server asked for (`Retry-After`) is
   * still honoured, and nothing is sent while the gate is closed (offline,
   * stopped, `authRequired`…). Use it when the app learns the server is
   * back (a push channel: `serverWake`).
   */
  syncNow(): void;
  /**
   * Withdraw a pending op that is not in flight: it leaves the queue unsent
   * (its optimistic layer rolls back), and a `cancelled` result is emitted
   * before this resolves. The head op waiting in backoff can be cancelled
   * (its wait ends, the queue moves on). Rejects with `ValidationError`:
   * `opInFlight` while its request is out (or its answer is being
   * written), `unknownOp` when it is not pending (settled already),
   * `lockNotHeld` when this engine does not hold the processor lock and
   * has no live `crossTab` channel (only the holder knows what is in
   * flight). With one (the browser default) the request is forwarded to
   * the holder and settles with its answer; no answer within 5 s rejects
   * with `TimeoutError` code `cancel_timeout`. An op whose earlier attempt's
   * outcome is unknown (timeout, 5xx, network) may have been applied by
   * the server: cancelling does not undo that.
   */
  cancel(opId: OpId): Promise<void>;
  /** Durable changes to the queues (from the store's change feed). */
  readonly changes$: Observable<StoreChange>;
  /**
   * The account the engine sends for (`account$` as it follows it): a
   * non-empty id, or null when none is signed in or accounts are not in
   * use. Replays the current one at once, then emits each change — before
   * an op of the new account can be enqueued or sent. The optimistic store
   * shows this account's view.
   */
  readonly account$: Observable<string | null>;
  /**
   * The pending queue in FIFO order: emits each op, reading the store page
   * by page (bounded memory), each page after the first in a later task
   * (a long queue never holds the event loop), then completes. Cold: each
   * subscription reads the queue afresh.
   */
  pendingOps(pageSize?: number): Observable<PendingOp>;
  /**
   * Leave `authRequired` after the user signed in again (the app's
   * `getToken` now returns a valid token): the head op is tried again.
   * Idempotent; harmless when not in `authRequired`.
   */
  resumeAuth(): void;
  /**
   * `stop()`, then drop every subscription (platform listeners included).
   * The engine is unusable after. It does not close the store: the store
   * belongs to the app, which closes it once this has resolved (and may
   * hand it to a new engine instead). Idempotent.
   *
   * @example
   * await engine.dispose();
   * await store.close();
   */
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

