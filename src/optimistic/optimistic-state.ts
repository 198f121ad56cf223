import type { OpResult } from '../engine/sync-engine';
import type { ErrorInfo } from '../errors/sync-error';
import type { OpId, PendingOp } from '../op/pending-op';
import type { StoreChange } from '../store/op-store';
import type { ApplyFn, CommitFn, Rollback } from './optimistic-types';

/** A durable pending op as the view tracks it: ids only, never the payload. */
export interface LayerMeta {
  readonly opId: OpId;
  readonly txToken: string;
  readonly type: string;
  /** Changes only when reconciliation rewrites the payload. */
  readonly idempotencyKey: string;
}

/** A mutation shown at once whose durable write has not finished yet. */
export interface Unsaved {
  readonly txToken: string;
  readonly type: string;
  readonly payload: unknown;
  /** The account it was made under (the engine stamps its op with it); shown only to that account. */
  readonly account: string | null;
}

/** Everything the optimistic view knows; plain data, never mutated. */
export interface OptimisticState<S> {
  /** False until the first rebase has read the queue: nothing is published before. */
  readonly ready: boolean;
  /**
   * The account whose view this is (the engine's signed-in account; null:
   * none, or accounts not in use). Only its ops and ops with no account
   * are layers; another account's ops are neither shown nor folded.
   */
  readonly account: string | null;
  /** Bumped on every account change: a rebase read started before one is dropped. */
  readonly epoch: number;
  /** The app gave the confirmed state of this account: no rebase reads before. */
  readonly confirmedKnown: boolean;
  readonly confirmed: S;
  /** `confirmed` ⊕ the durable layers. */
  readonly persistedView: S;
  /** The view last published (`persistedView` ⊕ `unsaved`); undefined before `ready`. */
  readonly view: S | undefined;
  readonly layers: readonly LayerMeta[];
  readonly unsaved: readonly Unsaved[];
  /** Ops completed on the store whose committed result (with the server's data) has not arrived yet. */
  readonly completedOps: Readonly<Record<string, PendingOp>>;
  /** Committed results whose store change has not arrived yet. */
  readonly committedResults: Readonly<Record<string, OpResult>>;
  /**
   * Ops with a final non-commit result whose removal from the store has not
   * been seen yet: a rebase in that window must not read them back in.
   */
  readonly departed: readonly string[];
}

/** A rebase's reading of the queue: confirmed ⊕ the pending ops read so far. */
export interface RebaseRead<S> {
  readonly view: S;
  readonly layers: LayerMeta[];
  readonly skip: ReadonlySet<string>;
  /** Whose ops are read (the others are skipped). */
  readonly account: string | null;
  /** The state's epoch when the read started. */
  readonly epoch: number;
}

/** What can happen to the view. */
export type OptimisticAction<S> =
  /** Load the view from the queue (no app cache to wait for). */
  | { readonly kind: 'load' }
  /**
   * A new confirmed state from the app's cache: of `account` (dropped if
   * another account is shown now), or of whichever is shown when absent.
   */
  | { readonly kind: 'confirmed'; readonly state: S; readonly account?: string | null }
  /**
   * The signed-in account changed: show its view, from `confirmed` (its
   * confirmed state) or, when absent, once a `confirmed` action gives it.
   */
  | { readonly kind: 'account'; readonly account: string | null; readonly confirmed?: { readonly state: S } }
  | { readonly kind: 'change'; readonly change: StoreChange }
  | { readonly kind: 'result'; readonly result: OpResult }
  /** A rebase asked for by an earlier step has read every pending op. */
  | { readonly kind: 'rebased'; readonly read: RebaseRead<S> }
  | { readonly kind: 'mutate'; readonly txToken: string; readonly type: string; readonly payload: unknown }
  | { readonly kind: 'persistFailed'; readonly txToken: string; readonly message: string; readonly error?: ErrorInfo };

/** The new state and what the caller must carry out, in this order. */
export interface OptimisticStep<S> {
  readonly state: OptimisticState<S>;
  /**
   * Withdraw what was published (another account's view): `state$` and
   * `confirmed$` replay nothing until the next publish, `pending$` shows
   * no entry. Carried out before `publish`.
   */
  readonly clear?: true;
  /** Emit `state.view`, `state.confirmed` and the layers (`shownUnsaved`). */
  readonly publish?: true;
  readonly rollback?: Rollback;
  /** Re-read the pending ops (`startRead`, `readOp`) and reduce a `rebased` action. */
  readonly rebase?: true;
}

/** The app's pure functions the reducer folds with. */
export interface OptimisticFns<S> {
  readonly apply: Readonly<Record<string, ApplyFn<S> | undefined>>;
  readonly commit?: Readonly<Record<string, CommitFn<S> | undefined>>;
  readonly equals: (a: S, b: S) => boolean;
}

/** The optimistic view's transitions, over the app's `apply`/`commit`. */
export interface OptimisticReducer<S> {
  /** Pure: `(state, action) → { state, publish?, rollback?, rebase? }`. */
  reduce(state: OptimisticState<S>, action: OptimisticAction<S>): OptimisticStep<S>;
  /** Start reading the queue for a rebase, from the confirmed state. */
  startRead(state: OptimisticState<S>): RebaseRead<S>;
  /**
   * Fold one pending op (FIFO order) into a reading. The reading is fresh per
   * rebase and held by no one else, so it grows in place: a rebase stays
   * O(queue) and never holds the payloads it has folded.
   */
  readOp(read: RebaseRead<S>, op: PendingOp): RebaseRead<S>;
}

/**
 * The state before anything is loaded, for `account`. `confirmedKnown`
 * false: `confirmed` is a placeholder until a `confirmed` action.
 *
 * @example
 * const s0 = initialOptimisticState<Todo[]>([], 'ada');
 */
export function initialOptimisticState<S>(confirmed: S, account: string | null = null, confirmedKnown = true): OptimisticState<S> {
  return {
    ready: false,
    account,
    epoch: 0,
    confirmedKnown,
    confirmed,
    persistedView: confirmed,
    view: undefined,
    layers: [],
    unsaved: [],
    completedOps: {},
    committedResults: {},
    departed: [],
  };
}

/**
 * The unsaved mutations the view shows: those made under its account.
 *
 * @example
 * shownUnsaved(state).map((u) => u.txToken);
 */
export function shownUnsaved<S>(state: OptimisticState<S>): readonly Unsaved[] {
  const { unsaved, account } = state;
  return unsaved.every((u) => u.account === account) ? unsaved : unsaved.filter((u) => u.account === account);
}
