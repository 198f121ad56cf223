import {
  BehaviorSubject,
  EMPTY,
  Observable,
  Subject,
  Subscription,
  combineLatest,
  concatMap,
  defer,
  distinctUntilChanged,
  filter,
  isObservable,
  map,
  merge,
  of,
  reduce,
  shareReplay,
  tap,
} from 'rxjs';
import { v4 as uuidv4 } from 'uuid';
import type { EngineStatus, OpResult, SyncEngine } from '../engine/sync-engine';
import { SyncError, type ErrorInfo } from '../errors/sync-error';
import { userMessageFor } from '../errors/user-messages';
import type { OpId, PendingOp } from '../op/pending-op';
import type { StoreChange } from '../store/op-store';
import { deepEqual } from './deep-equal';

/** How a pending op changes the view: pure, no I/O. */
export type ApplyFn<S> = (state: S, payload: any) => S;
/** How the server's answer folds into confirmed state: pure, no I/O. */
export type CommitFn<S> = (state: S, payload: any, data: unknown) => S;

const DISCARDED_MESSAGE = 'This change was discarded.';

/** Options of {@link createOptimisticStore}. */
export interface OptimisticStoreOptions<S> {
  /** Confirmed state, or an Observable of it from the app's own cache. */
  readonly initial: S | Observable<S>;
  /** Per op type: how a pending op changes the view. Types without one pass through. */
  readonly apply: Readonly<Record<string, ApplyFn<S>>>;
  /** Per op type: fold the server's `data` into confirmed state. Default: `apply`. */
  readonly commit?: Readonly<Record<string, CommitFn<S>>>;
  /** Equality of states, to skip rebases that would change nothing. Default: structural. */
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

interface LayerMeta {
  readonly opId: OpId;
  readonly txToken: string;
  readonly type: string;
  /** Changes only when reconciliation rewrites the payload. */
  readonly idempotencyKey: string;
}

const metaOf = (op: PendingOp): LayerMeta => ({
  opId: op.id,
  txToken: op.txToken,
  type: op.type,
  idempotencyKey: op.idempotencyKey,
});

interface Unsaved {
  readonly txToken: string;
  readonly type: string;
  readonly payload: unknown;
}

type Action =
  | { readonly kind: 'change'; readonly change: StoreChange }
  | { readonly kind: 'result'; readonly result: OpResult }
  | { readonly kind: 'confirmed'; readonly state: unknown }
  | { readonly kind: 'rebase' };

/**
 * An optimistic view derived from the durable queue itself, so it is the
 * same after a restart: `state$` = confirmed ⊕ pending ops in FIFO order.
 *
 * An append applies one op on top of the view (O(1)). Only a commit whose
 * server data changes the outcome, a rollback, a rewritten payload or a new
 * confirmed state rebases, by re-reading the pending ops from the store
 * (`engine.pendingOps()`, paged) — no second copy of the queue's payloads is
 * kept here; only op ids and tx tokens are.
 *
 * @example
 * ```ts
 * const todos = createOptimisticStore(engine, {
 *   initial: [] as Todo[],
 *   apply: { 'todo.create': (s, p: NewTodo) => [...s, { ...p, id: p.tempId }] },
 *   commit: { 'todo.create': (s, p: NewTodo, data) => [...s, data as Todo] },
 * });
 * todos.state$.subscribe(render);
 * const { persisted } = todos.mutate('todo.create', { tempId: 't1', title: 'Milk' });
 * ```
 */
export function createOptimisticStore<S>(engine: SyncEngine, options: OptimisticStoreOptions<S>): OptimisticStore<S> {
  const equals = options.equals ?? deepEqual;
  const applyOne = (s: S, type: string, payload: unknown): S => {
    const fn = options.apply[type];
    return fn ? fn(s, payload) : s;
  };
  const commitOne = (s: S, type: string, payload: unknown, data: unknown): S => {
    const fn = options.commit?.[type];
    return fn ? fn(s, payload, data) : applyOne(s, type, payload);
  };

  let confirmed: S = (isObservable(options.initial) ? undefined : options.initial) as S;
  let persistedView: S = confirmed;
  let layers: LayerMeta[] = [];
  const unsaved: Unsaved[] = [];
  let ready = false;
  // Ops completed on the store whose result (with server data) has not
  // arrived yet, and results whose store change has not: joined by op id.
  const completedOps = new Map<string, PendingOp>();
  const committedResults = new Map<string, OpResult>();
  // Ops with a final non-commit result whose removal from the store has not
  // been seen yet: a rebase in that window must not read them back in.
  const departed = new Set<string>();

  const stateSubject$ = new BehaviorSubject<S | undefined>(undefined);
  const confirmedSubject$ = new BehaviorSubject<S | undefined>(undefined);
  const layersSubject$ = new BehaviorSubject<{ layers: readonly LayerMeta[]; unsaved: readonly Unsaved[] }>({
    layers: [],
    unsaved: [],
  });
  const rollbacksSubject$ = new Subject<Rollback>();
  const actions$ = new Subject<Action>();

  const viewOf = (base: S): S => unsaved.reduce((s, u) => applyOne(s, u.type, u.payload), base);
  let lastView: S | undefined;
  const publish = (): void => {
    if (!ready) return;
    lastView = viewOf(persistedView);
    stateSubject$.next(lastView);
    confirmedSubject$.next(confirmed);
    layersSubject$.next({ layers: [...layers], unsaved: [...unsaved] });
  };
  const removeUnsaved = (txToken: string): boolean => {
    const i = unsaved.findIndex((u) => u.txToken === txToken);
    if (i >= 0) unsaved.splice(i, 1);
    return i >= 0;
  };

  /** Re-read the pending ops and fold them over the confirmed state. */
  const rebase = (): Observable<void> =>
    defer(() =>
      engine.pendingOps().pipe(
        filter((op) => !departed.has(op.id)),
        reduce(
          (acc, op) => {
            acc.view = applyOne(acc.view, op.type, op.payload);
            acc.layers.push(metaOf(op));
            return acc;
          },
          { view: confirmed, layers: [] as LayerMeta[] },
        ),
        tap(({ view, layers: read }) => {
          persistedView = view;
          layers = read;
          for (const l of read) removeUnsaved(l.txToken);
          ready = true;
          publish();
        }),
        map(() => undefined),
      ),
    );

  const rollback = (r: Rollback): void => rollbacksSubject$.next(r);

  const onAppended = (op: PendingOp): Observable<void> => {
    if (layers.some((l) => l.opId === op.id)) return EMPTY; // already read by a rebase
    const onlyUnsaved = unsaved.length === 1 && unsaved[0].txToken === op.txToken;
    // The view already shows this layer: reuse it rather than emit an equal copy.
    persistedView = onlyUnsaved && lastView !== undefined ? lastView : applyOne(persistedView, op.type, op.payload);
    layers.push(metaOf(op));
    removeUnsaved(op.txToken); // the layer is now durable: same change, new home
    publish();
    return EMPTY;
  };

  const onCommitted = (op: PendingOp, result: OpResult): Observable<void> => {
    const wasHead = layers[0]?.opId === op.id;
    const known = layers.some((l) => l.opId === op.id);
    layers = layers.filter((l) => l.opId !== op.id);
    const optimistic = applyOne(confirmed, op.type, op.payload);
    confirmed = commitOne(confirmed, op.type, op.payload, result.data);
    if (known && wasHead && equals(optimistic, confirmed)) {
      // The server agreed with the optimistic guess: the view is unchanged.
      publish();
      return EMPTY;
    }
    return rebase();
  };

  const handle = (action: Action): Observable<void> => {
    switch (action.kind) {
      case 'rebase':
        return rebase();
      case 'confirmed':
        confirmed = action.state as S;
        return rebase();
      case 'change': {
        const c = action.change;
        switch (c.type) {
          case 'appended':
          case 'retried':
            return ready ? onAppended(c.op) : EMPTY;
          case 'updated': {
            // Only a rewritten payload (conflict reconciliation, which also
            // mints a new idempotency key) changes the view; attempts don't.
            const layer = layers.find((l) => l.opId === c.op.id);
            return layer && layer.idempotencyKey !== c.op.idempotencyKey ? rebase() : EMPTY;
          }
          case 'completed': {
            if (departed.delete(c.op.id)) return EMPTY; // a dropped conflict leaving
            const result = committedResults.get(c.op.id);
            if (result) {
              committedResults.delete(c.op.id);
              return onCommitted(c.op, result);
            }
            completedOps.set(c.op.id, c.op);
            return EMPTY;
          }
          case 'failed': {
            const id = c.record.op?.id ?? c.record.id;
            departed.delete(id);
            if (!layers.some((l) => l.opId === id)) return EMPTY;
            layers = layers.filter((l) => l.opId !== id);
            return rebase();
          }
          case 'discarded': {
            const op = c.record.op;
            // A dropped conflict or a cancelled op is discarded by the
            // engine itself; its rollback came with its result.
            if (op && c.record.reason !== 'dropped' && c.record.reason !== 'cancelled') {
              rollback({ txToken: op.txToken, opId: op.id, reason: 'discarded', message: DISCARDED_MESSAGE });
            }
            return EMPTY;
          }
        }
        return EMPTY;
      }
      case 'result': {
        const r = action.result;
        if (r.outcome === 'committed') {
          const op = completedOps.get(r.opId);
          if (op) {
            completedOps.delete(r.opId);
            return onCommitted(op, r);
          }
          committedResults.set(r.opId, r);
          return EMPTY;
        }
        if (r.outcome === 'conflict' && r.resolution === 'retry') return EMPTY;
        // Its store change may come before or after this result.
        if (!completedOps.delete(r.opId) && layers.some((l) => l.opId === r.opId)) departed.add(r.opId);
        rollback({
          txToken: r.txToken,
          opId: r.opId,
          reason: r.outcome,
          message: r.message ?? userMessageFor(r.error?.kind ?? 'permanent'),
          ...(r.error ? { error: r.error } : {}),
        });
        if (!layers.some((l) => l.opId === r.opId)) return EMPTY;
        layers = layers.filter((l) => l.opId !== r.opId);
        return rebase();
      }
    }
  };

  const subscription = new Subscription();
  subscription.add(actions$.pipe(concatMap((a) => handle(a))).subscribe({
    error: () => {
      /* handlers never error: every failure is state, not an exception */
    },
  }));
  subscription.add(engine.changes$.subscribe((change) => actions$.next({ kind: 'change', change })));
  subscription.add(engine.results$.subscribe((result) => actions$.next({ kind: 'result', result })));
  if (isObservable(options.initial)) {
    subscription.add(options.initial.subscribe((state) => actions$.next({ kind: 'confirmed', state })));
  } else {
    actions$.next({ kind: 'rebase' });
  }

  const defined = <T>(s$: Observable<T | undefined>): Observable<T> =>
    s$.pipe(filter((v): v is T => v !== undefined));

  const status$: Observable<EngineStatus | undefined> = merge(of(undefined), engine.status$);
  const entryOf = (l: LayerMeta, head: boolean, status: EngineStatus | undefined): PendingEntry => {
    const base = { opId: l.opId, txToken: l.txToken, type: l.type };
    if (head && status?.authRequired) return { ...base, status: 'authRequired' };
    if (head && status?.inFlight === l.opId) return { ...base, status: 'sending' };
    if (head && status?.nextAttemptAt !== undefined)
      return { ...base, status: 'retrying', nextAttemptAt: status.nextAttemptAt };
    return { ...base, status: 'queued' };
  };
  const pending$: Observable<readonly PendingEntry[]> = combineLatest([layersSubject$, status$]).pipe(
    map(([{ layers: ls, unsaved: us }, status]): readonly PendingEntry[] => [
      ...ls.map((l, i) => entryOf(l, i === 0, status)),
      ...us.map((u): PendingEntry => ({ txToken: u.txToken, type: u.type, status: 'saving' })),
    ]),
    distinctUntilChanged<readonly PendingEntry[]>(deepEqual),
    shareReplay({ bufferSize: 1, refCount: true }),
  );

  return {
    state$: defined(stateSubject$.asObservable()).pipe(distinctUntilChanged()),
    confirmed$: defined(confirmedSubject$.asObservable()).pipe(distinctUntilChanged()),
    pending$,
    rollbacks$: rollbacksSubject$.asObservable(),
    mutate(type: string, payload: unknown): Mutation {
      const txToken = uuidv4();
      const layer: Unsaved = { txToken, type, payload };
      unsaved.push(layer);
      publish();
      const persisted = engine.enqueue({ type, payload, txToken });
      persisted.catch((err: unknown) => {
        if (!removeUnsaved(txToken)) return;
        publish();
        const error = err instanceof SyncError ? err.toInfo() : undefined;
        rollback({
          txToken,
          reason: 'persistFailed',
          message: err instanceof SyncError ? err.userMessage : userMessageFor('storage'),
          ...(error ? { error } : {}),
        });
      });
      return { txToken, persisted };
    },
    dispose(): void {
      subscription.unsubscribe();
      actions$.complete();
      stateSubject$.complete();
      confirmedSubject$.complete();
      layersSubject$.complete();
      rollbacksSubject$.complete();
    },
  };
}
