import type { Observable } from 'rxjs';
import type { ErrorInfo } from '../errors/sync-error';
import type { OpId, PendingOp } from '../op/pending-op';
import type { PayloadOf, ResponseOf, RouteTable } from '../router/route-types';

/** How a pending op changes the view: pure, no I/O. `P`: the route's payload. */
export type ApplyFn<S, P = any> = (state: S, payload: P) => S;
/**
 * How the server's answer folds into confirmed state: pure, no I/O. `D`:
 * the route's decoded response; `undefined` for an op found already
 * committed in the idempotency ledger after a crash.
 */
export type CommitFn<S, P = any, D = unknown> = (state: S, payload: P, data: D | undefined) => S;

/**
 * `apply` of an optimistic store over an engine typed by route table `R`:
 * only declared types, each with its route's payload.
 *
 * @example
 * const apply: ApplyMap<Todo[], RoutesOf<typeof routes>> = { 'todo.create': (s, p) => [...s, { ...p, done: false }] };
 */
export type ApplyMap<S, R extends RouteTable = any> = { readonly [K in keyof R & string]?: ApplyFn<S, PayloadOf<R[K]>> };

/**
 * `commit` of an optimistic store over an engine typed by route table `R`:
 * `data` is the route's decoded response.
 *
 * @example
 * const commit: CommitMap<Todo[], RoutesOf<typeof routes>> = { 'todo.create': (s, p, data) => (data ? [...s, data] : s) };
 */
export type CommitMap<S, R extends RouteTable = any> = {
  readonly [K in keyof R & string]?: CommitFn<S, PayloadOf<R[K]>, ResponseOf<R[K]>>;
};

/**
 * The confirmed (server-acknowledged) state of one account, from the app:
 * the state itself, or an Observable of it (the app's own cache for that
 * account). Called with the engine's signed-in account (null: none, or
 * accounts not in use) at creation and on every account change.
 *
 * @example
 * const confirmedFor: ConfirmedFor<Todo[]> = (account) => (account === null ? [] : cache.todosOf$(account));
 */
export type ConfirmedFor<S> = (account: string | null) => S | Observable<S>;

/** Options of `createOptimisticStore`. */
export interface OptimisticStoreOptions<S, R extends RouteTable = any> {
  /**
   * Confirmed state: a value, an Observable of it from the app's own cache,
   * or — with accounts in use (`account$`) — a function giving each
   * account's (`ConfirmedFor`; `S` itself must then not be a function).
   * On an account change the view starts over from the new account's
   * confirmed state: the function's answer for it, else the last value
   * given (`initial`, or the Observable's latest), never what the store
   * folded in for the previous account. An Observable answer that has not
   * emitted yet holds the view back (`state$` replays nothing) until it does.
   */
  readonly initial: S | Observable<S> | ConfirmedFor<S>;
  /** Per op type: how a pending op changes the view. Types without one pass through. */
  readonly apply: ApplyMap<S, R>;
  /** Per op type: fold the server's `data` into confirmed state. Default: `apply`. */
  readonly commit?: CommitMap<S, R>;
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
export type RollbackReason = 'failed' | 'conflict' | 'persistFailed' | 'discarded' | 'cancelled';

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
export interface OptimisticStore<S, R extends RouteTable = any> {
  /**
   * Confirmed state ⊕ every pending op in FIFO order — of the signed-in
   * account only (and ops with no account): another account's pending ops
   * are never shown. After an account change it replays nothing until the
   * new account's view is read.
   */
  readonly state$: Observable<S>;
  /** Server-acknowledged state only (the signed-in account's). */
  readonly confirmed$: Observable<S>;
  /** The signed-in account's pending changes (no other account's). */
  readonly pending$: Observable<readonly PendingEntry[]>;
  readonly rollbacks$: Observable<Rollback>;
  /** Apply a change now and enqueue it for sync. */
  mutate<K extends keyof R & string>(type: K, payload: PayloadOf<R[K]>): Mutation;
  /** Stop following the engine. */
  dispose(): void;
}
