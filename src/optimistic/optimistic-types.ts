import type { Observable } from 'rxjs';
import type { ErrorInfo } from '../errors/sync-error';
import type { OpId, PendingOp } from '../op/pending-op';

/** How a pending op changes the view: pure, no I/O. */
export type ApplyFn<S> = (state: S, payload: any) => S;
/** How the server's answer folds into confirmed state: pure, no I/O. */
export type CommitFn<S> = (state: S, payload: any, data: unknown) => S;

/** Options of `createOptimisticStore`. */
export interface OptimisticStoreOptions<S> {
  /** Confirmed state, or an Observable of it from the app's own cache. */
  readonly initial: S | Observable<S>;
  /** Per op type: how a pending op changes the view. Types without one pass through. */
  readonly apply: Readonly<Record<string, ApplyFn<S>>>;
  /** Per op type: fold the server's `data` into confirmed state. Default: `apply`. */
  readonly commit?: Readonly<Record<string, CommitFn<S>>>;
  /** Equality of states, to skip rebases that would change nothing. Default: structural (`dequal`: Maps, Sets and Dates by content). */
  readonly equals?: (a: S, b: S) => boolean;
}

/** Where a pending change stands, for a "saving…" UI. */
export type PendingStatus = 'saving' | 'queued' | 'sending' | 'retrying' | 'authRequired';

/** A pending change as `pending$` shows it (no payload). */
export interface PendingEntry {
  /** Absent while the op is not yet durably written (`saving`). */
  readonly opId?: OpId;
  readonly txToken: string;
  readonly type: string;
  readonly status: PendingStatus;
  /** For `retrying`: when the next attempt is due (epoch ms). */
  readonly nextAttemptAt?: number;
}

/** Why an optimistic layer was removed without being committed. */
export type RollbackReason = 'failed' | 'conflict' | 'persistFailed' | 'discarded';

/** Emitted on `rollbacks$` when a layer leaves without a commit. */
export interface Rollback {
  readonly txToken: string;
  readonly opId?: OpId;
  readonly reason: RollbackReason;
  /** Fixed user-facing text (from the error mapping's table). */
  readonly message: string;
  readonly error?: ErrorInfo;
}

/** What `mutate` returns, synchronously. */
export interface Mutation {
  readonly txToken: string;
  /** Resolves with the stored op once durable; rejects (typed) if the write failed. */
  readonly persisted: Promise<PendingOp>;
}

/** An optimistic view over a sync engine's durable queue. */
export interface OptimisticStore<S> {
  /** Confirmed state ⊕ every pending op in FIFO order. */
  readonly state$: Observable<S>;
  /** Server-acknowledged state only. */
  readonly confirmed$: Observable<S>;
  readonly pending$: Observable<readonly PendingEntry[]>;
  readonly rollbacks$: Observable<Rollback>;
  /** Apply a change now and enqueue it for sync. */
  mutate(type: string, payload: unknown): Mutation;
  /** Stop following the engine. */
  dispose(): void;
}
