import type { OpResult } from '../engine/sync-engine';
import type { ErrorInfo } from '../errors/sync-error';
import { userMessageFor } from '../errors/user-messages';
import type { PendingOp } from '../op/pending-op';
import type { FailedRecord, StoreChange } from '../store/op-store';
import { sentUnder } from '../op/sent-under';
import {
  shownUnsaved,
  type LayerMeta,
  type OptimisticAction,
  type OptimisticFns,
  type OptimisticReducer,
  type OptimisticState,
  type OptimisticStep,
  type RebaseRead,
  type Unsaved,
} from './optimistic-state';
import type { Rollback } from './optimistic-types';

export { initialOptimisticState, shownUnsaved } from './optimistic-state';
export type { OptimisticAction, OptimisticFns, OptimisticReducer, OptimisticState, OptimisticStep, RebaseRead } from './optimistic-state';

const DISCARDED_MESSAGE = 'This change was discarded.';

const metaOf = (op: PendingOp): LayerMeta => ({
  opId: op.id,
  txToken: op.txToken,
  type: op.type,
  idempotencyKey: op.idempotencyKey,
});

const without = <T>(record: Readonly<Record<string, T>>, key: string): Readonly<Record<string, T>> => {
  const { [key]: _gone, ...rest } = record;
  return rest;
};

/** Remove the first unsaved entry of `txToken`, or undefined when there is none. */
const removeUnsaved = (unsaved: readonly Unsaved[], txToken: string): readonly Unsaved[] | undefined => {
  const i = unsaved.findIndex((u) => u.txToken === txToken);
  return i < 0 ? undefined : [...unsaved.slice(0, i), ...unsaved.slice(i + 1)];
};

const hasLayer = <S>(state: OptimisticState<S>, opId: string): boolean => state.layers.some((l) => l.opId === opId);
const dropLayer = <S>(state: OptimisticState<S>, opId: string): OptimisticState<S> => ({
  ...state,
  layers: state.layers.filter((l) => l.opId !== opId),
});
const dropDeparted = <S>(state: OptimisticState<S>, opId: string): OptimisticState<S> =>
  state.departed.includes(opId) ? { ...state, departed: state.departed.filter((id) => id !== opId) } : state;

/** The app's folds, with the defaults filled in. */
interface Folds<S> {
  apply(s: S, type: string, payload: unknown): S;
  commit(s: S, type: string, payload: unknown, data: unknown): S;
  equals(a: S, b: S): boolean;
}

/** Publish (when ready) with the view recomputed over the unsaved layers it shows. */
const published = <S>(f: Folds<S>, state: OptimisticState<S>): OptimisticStep<S> =>
  state.ready
    ? { state: { ...state, view: shownUnsaved(state).reduce((s, u) => f.apply(s, u.type, u.payload), state.persistedView) }, publish: true }
    : { state };

const rebased = <S>(f: Folds<S>, state: OptimisticState<S>, read: RebaseRead<S>): OptimisticStep<S> => {
  // Started before an account change (another account's reading), or
  // over a placeholder: the account's confirmed state is not given yet.
  if (read.epoch !== state.epoch || !state.confirmedKnown) return { state };
  const durable = new Set(read.layers.map((l) => l.txToken));
  return published(f, {
    ...state,
    ready: true,
    persistedView: read.view,
    layers: read.layers,
    unsaved: state.unsaved.filter((u) => !durable.has(u.txToken)),
  });
};

const appended = <S>(f: Folds<S>, state: OptimisticState<S>, op: PendingOp): OptimisticStep<S> => {
  // Another account's op (a write that landed after the switch): never shown.
  if (!sentUnder(op, state.account)) return { state: { ...state, unsaved: removeUnsaved(state.unsaved, op.txToken) ?? state.unsaved } };
  if (!state.ready || hasLayer(state, op.id)) return { state }; // a rebase read it already
  const last = state.layers[state.layers.length - 1];
  // Another tab's op that sorts before ours (appended meanwhile): re-read the queue in its order.
  if (last !== undefined && op.id < last.opId) return { state, rebase: true };
  const { unsaved, view } = state;
  const onlyUnsaved = unsaved.length === 1 && unsaved[0]!.txToken === op.txToken;
  return published(f, {
    ...state,
    // The view already shows this layer: reuse it rather than emit an equal copy.
    persistedView: onlyUnsaved && view !== undefined ? view : f.apply(state.persistedView, op.type, op.payload),
    layers: [...state.layers, metaOf(op)],
    // The layer is now durable: same change, new home.
    unsaved: removeUnsaved(unsaved, op.txToken) ?? unsaved,
  });
};

const committed = <S>(f: Folds<S>, state: OptimisticState<S>, op: PendingOp, result: OpResult): OptimisticStep<S> => {
  // Another account's commit (its answer landed after the switch) is that
  // account's confirmed state, not this one's; with the confirmed state not
  // known yet, the app's will include it.
  if (!sentUnder(op, state.account) || !state.confirmedKnown) return { state: dropLayer(state, op.id) };
  const wasHead = state.layers[0]?.opId === op.id;
  const known = hasLayer(state, op.id);
  const optimistic = f.apply(state.confirmed, op.type, op.payload);
  const next = { ...dropLayer(state, op.id), confirmed: f.commit(state.confirmed, op.type, op.payload, result.data) };
  // The server agreed with the optimistic guess: the view is unchanged.
  if (known && wasHead && f.equals(optimistic, next.confirmed)) return published(f, next);
  return { state: next, rebase: true };
};

const completed = <S>(f: Folds<S>, state: OptimisticState<S>, op: PendingOp): OptimisticStep<S> => {
  if (state.departed.includes(op.id)) return { state: dropDeparted(state, op.id) }; // a dropped conflict leaving
  const result = state.committedResults[op.id];
  if (result) return committed(f, { ...state, committedResults: without(state.committedResults, op.id) }, op, result);
  return { state: { ...state, completedOps: { ...state.completedOps, [op.id]: op } } };
};

const failed = <S>(state: OptimisticState<S>, record: FailedRecord): OptimisticStep<S> => {
  const id = record.op?.id ?? record.id;
  const next = dropDeparted(state, id);
  return hasLayer(next, id) ? { state: dropLayer(next, id), rebase: true } : { state: next };
};

const changed = <S>(f: Folds<S>, state: OptimisticState<S>, c: StoreChange): OptimisticStep<S> => {
  switch (c.type) {
    case 'appended':
    case 'retried':
      return appended(f, state, c.op);
    case 'updated':
      // Attempts, waits and errors: nothing the view shows.
      return { state };
    case 'rewritten':
      // Conflict reconciliation replaced the payload: re-apply the queue.
      return hasLayer(state, c.op.id) ? { state, rebase: true } : { state };
    case 'completed':
      return completed(f, state, c.op);
    case 'failed':
      return failed(state, c.record);
    case 'discarded': {
      const op = c.record.op;
      // A dropped conflict or a cancelled op is discarded by the engine
      // itself; its rollback came with its result.
      if (!op || c.record.reason === 'dropped' || c.record.reason === 'cancelled') return { state };
      return { state, rollback: { txToken: op.txToken, opId: op.id, reason: 'discarded', message: DISCARDED_MESSAGE } };
    }
  }
};

const resulted = <S>(f: Folds<S>, state: OptimisticState<S>, r: OpResult): OptimisticStep<S> => {
  const completedOp = state.completedOps[r.opId];
  const next = completedOp ? { ...state, completedOps: without(state.completedOps, r.opId) } : state;
  if (r.outcome === 'committed') {
    if (completedOp) return committed(f, next, completedOp, r);
    return { state: { ...state, committedResults: { ...state.committedResults, [r.opId]: r } } };
  }
  if (r.outcome === 'conflict' && r.resolution === 'retry') return { state };
  const rollback: Rollback = {
    txToken: r.txToken,
    opId: r.opId,
    reason: r.outcome === 'conflict' || r.outcome === 'cancelled' ? r.outcome : 'failed',
    message: r.message ?? userMessageFor(r.error?.kind ?? 'permanent'),
    ...(r.error ? { error: r.error } : {}),
  };
  if (!hasLayer(next, r.opId)) return { state: next, rollback };
  // Its store change may come before or after this result.
  const departed = completedOp || next.departed.includes(r.opId) ? next.departed : [...next.departed, r.opId];
  return { state: { ...dropLayer(next, r.opId), departed }, rollback, rebase: true };
};

const persistFailed = <S>(
  f: Folds<S>,
  state: OptimisticState<S>,
  txToken: string,
  message: string,
  error?: ErrorInfo,
): OptimisticStep<S> => {
  const unsaved = removeUnsaved(state.unsaved, txToken);
  if (!unsaved) return { state };
  const rollback: Rollback = { txToken, reason: 'persistFailed', message, ...(error ? { error } : {}) };
  const shown = state.unsaved.some((u) => u.txToken === txToken && u.account === state.account);
  return shown ? { ...published(f, { ...state, unsaved }), rollback } : { state: { ...state, unsaved }, rollback };
};

/**
 * Show another account's view: nothing of the previous one is kept but
 * the bookkeeping by op id (results and changes still on their way) and
 * the unsaved mutations (shown to their own account only). Withdraws what
 * was published; reads the queue at once when the confirmed state is
 * given, else after the `confirmed` action that gives it.
 */
const switched = <S>(state: OptimisticState<S>, account: string | null, confirmed: { readonly state: S } | undefined): OptimisticStep<S> => {
  const base = confirmed ? confirmed.state : state.confirmed;
  const next: OptimisticState<S> = {
    ...state,
    ready: false,
    account,
    epoch: state.epoch + 1,
    confirmedKnown: confirmed !== undefined,
    confirmed: base,
    persistedView: base,
    view: undefined,
    layers: [],
  };
  return confirmed ? { state: next, clear: true, rebase: true } : { state: next, clear: true };
};

const reduceAction = <S>(f: Folds<S>, state: OptimisticState<S>, action: OptimisticAction<S>): OptimisticStep<S> => {
  switch (action.kind) {
    case 'load':
      return { state, rebase: true };
    case 'account':
      return switched(state, action.account, action.confirmed);
    case 'confirmed':
      // Emitted for the account shown before a switch: not this one's.
      if (action.account !== undefined && action.account !== state.account) return { state };
      return { state: { ...state, confirmed: action.state, confirmedKnown: true }, rebase: true };
    case 'rebased':
      return rebased(f, state, action.read);
    case 'mutate': {
      const { txToken, type, payload } = action;
      return published(f, { ...state, unsaved: [...state.unsaved, { txToken, type, payload, account: state.account }] });
    }
    case 'persistFailed':
      return persistFailed(f, state, action.txToken, action.message, action.error);
    case 'change':
      return changed(f, state, action.change);
    case 'result':
      return resulted(f, state, action.result);
  }
};

/**
 * The optimistic view's transitions as a pure reducer: `state$` = confirmed
 * ⊕ pending ops in FIFO order, kept without a second copy of the queue's
 * payloads (only op ids and tx tokens).
 *
 * An append applies one op on top of the view. Only a commit whose server
 * data changes the outcome, a rollback, a rewritten payload or a new
 * confirmed state asks for a rebase: a re-read of the pending ops.
 *
 * Per account: the view shows the signed-in account's ops (and ops with no
 * account) over that account's confirmed state. An `account` action
 * withdraws what was published (`clear`) and reads the queue again; another
 * account's ops, unsaved mutations and commits are never folded in.
 * Table-tested from `test-vectors/optimistic_reducer.json`.
 *
 * @example
 * const r = optimisticReducer({ apply: { push: (s: number[], p: number) => [...s, p] }, equals: dequal });
 * const { state, publish } = r.reduce(state0, { kind: 'mutate', txToken: 't1', type: 'push', payload: 1 });
 */
export function optimisticReducer<S>(fns: OptimisticFns<S>): OptimisticReducer<S> {
  const f: Folds<S> = {
    apply: (s, type, payload) => {
      const fn = fns.apply[type];
      return fn ? fn(s, payload) : s;
    },
    commit: (s, type, payload, data) => {
      const fn = fns.commit?.[type];
      return fn ? fn(s, payload, data) : f.apply(s, type, payload);
    },
    equals: fns.equals,
  };
  const readOp = (read: RebaseRead<S>, op: PendingOp): RebaseRead<S> => {
    if (read.skip.has(op.id) || !sentUnder(op, read.account)) return read;
    read.layers.push(metaOf(op));
    return { ...read, view: f.apply(read.view, op.type, op.payload) };
  };
  return {
    reduce(state, action) {
      const step = reduceAction(f, state, action);
      // No reading over a confirmed state the app has not given yet: the
      // `confirmed` action that gives it reads the queue.
      if (!step.rebase || step.state.confirmedKnown) return step;
      const { rebase: _later, ...rest } = step;
      return rest;
    },
    startRead(state) {
      const skip = new Set(state.departed);
      const read: RebaseRead<S> = { view: state.confirmed, layers: [], skip, account: state.account, epoch: state.epoch };
      // Ops the store completed whose committed result (the server's data)
      // is not folded yet: gone from the queue — a merged commit removes
      // several at once — but still shown, before it, until their result.
      const completed = Object.values(state.completedOps).sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
      const withCompleted = completed.reduce(readOp, read);
      // Never folded twice, should the read still meet one.
      for (const op of completed) skip.add(op.id);
      return withCompleted;
    },
    readOp,
  };
}
