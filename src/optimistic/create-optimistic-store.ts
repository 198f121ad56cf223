import { BehaviorSubject, EMPTY, Observable, Subject, Subscription, concatMap, defer, distinctUntilChanged, filter, isObservable, reduce } from 'rxjs';
import { dequal } from 'dequal';
import { uuidV4 as uuidv4 } from '../op/uuid';
import type { EngineCore } from '../engine/sync-engine';
import { SyncError } from '../errors/sync-error';
import { userMessageFor } from '../errors/user-messages';
import type { RouteTable } from '../router/route-types';
import {
  initialOptimisticState,
  optimisticReducer,
  type OptimisticAction,
  type OptimisticReducer,
  type OptimisticState,
} from './optimistic-reducer';
import type { Mutation, OptimisticStore, OptimisticStoreOptions, Rollback } from './optimistic-types';
import { pendingEntries, type PublishedLayers } from './pending-entries';

export type {
  ApplyFn,
  ApplyMap,
  CommitFn,
  CommitMap,
  Mutation,
  OptimisticStore,
  OptimisticStoreOptions,
  PendingEntry,
  PendingStatus,
  Rollback,
  RollbackReason,
} from './optimistic-types';

const defined = <T>(s$: Observable<T | undefined>): Observable<T> => s$.pipe(filter((v): v is T => v !== undefined));

/**
 * Holds the reducer's state and carries out its steps: publish, roll back,
 * rebase (re-read the pending ops from the store, paged, and fold them).
 * Engine actions run one at a time (a rebase finishes before the next);
 * `mutate` and a failed durable write are reduced at once, so a change
 * shows in the same tick even while a rebase is reading.
 */
class OptimisticView<S> {
  state: OptimisticState<S>;
  readonly state$ = new BehaviorSubject<S | undefined>(undefined);
  readonly confirmed$ = new BehaviorSubject<S | undefined>(undefined);
  readonly layers$ = new BehaviorSubject<PublishedLayers>({ layers: [], unsaved: [] });
  readonly rollbacks$ = new Subject<Rollback>();

  constructor(
    private readonly engine: EngineCore,
    private readonly reducer: OptimisticReducer<S>,
    confirmed: S,
  ) {
    this.state = initialOptimisticState(confirmed);
  }

  run(action: OptimisticAction<S>): Observable<void> {
    const step = this.reducer.reduce(this.state, action);
    const state = (this.state = step.state);
    if (step.publish) {
      this.state$.next(state.view);
      this.confirmed$.next(state.confirmed);
      this.layers$.next({ layers: state.layers, unsaved: state.unsaved });
    }
    if (step.rollback) this.rollbacks$.next(step.rollback);
    if (!step.rebase) return EMPTY;
    return defer(() => this.engine.pendingOps().pipe(reduce(this.reducer.readOp, this.reducer.startRead(this.state)))).pipe(
      concatMap((read) => this.run({ kind: 'rebased', read })),
    );
  }

  complete(): void {
    for (const s of [this.state$, this.confirmed$, this.layers$, this.rollbacks$]) s.complete();
  }
}

/**
 * An optimistic view derived from the durable queue itself, so it is the
 * same after a restart: `state$` = confirmed ⊕ pending ops in FIFO order.
 * The transitions are the pure `optimisticReducer`; this wires it to the
 * engine's `changes$` and `results$`.
 *
 * An append applies one op on top of the view (O(1) folds). Only a commit
 * whose server data changes the outcome, a rollback, a rewritten payload or
 * a new confirmed state rebases, by re-reading the pending ops from the
 * store (`engine.pendingOps()`, paged) — no second copy of the queue's
 * payloads is kept here; only op ids and tx tokens are.
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
export function createOptimisticStore<S, R extends RouteTable = any>(
  engine: EngineCore<R>,
  options: OptimisticStoreOptions<S, R>,
): OptimisticStore<S, R>;
export function createOptimisticStore<S>(engine: EngineCore, options: OptimisticStoreOptions<S>): OptimisticStore<S> {
  const reducer = optimisticReducer<S>({ apply: options.apply, commit: options.commit, equals: options.equals ?? dequal });
  const view = new OptimisticView<S>(engine, reducer, (isObservable(options.initial) ? undefined : options.initial) as S);
  const actions$ = new Subject<OptimisticAction<S>>();
  const subscription = new Subscription();
  subscription.add(
    actions$.pipe(concatMap((a) => view.run(a))).subscribe({
      error: () => {
        /* steps never error: every failure is state, not an exception */
      },
    }),
  );
  subscription.add(engine.changes$.subscribe((change) => actions$.next({ kind: 'change', change })));
  subscription.add(engine.results$.subscribe((result) => actions$.next({ kind: 'result', result })));
  if (isObservable(options.initial)) {
    subscription.add(options.initial.subscribe((state) => actions$.next({ kind: 'confirmed', state })));
  } else {
    actions$.next({ kind: 'load' });
  }

  return {
    state$: defined(view.state$.asObservable()).pipe(distinctUntilChanged()),
    confirmed$: defined(view.confirmed$.asObservable()).pipe(distinctUntilChanged()),
    pending$: pendingEntries(view.layers$.asObservable(), engine.status$),
    rollbacks$: view.rollbacks$.asObservable(),
    mutate(type: string, payload: unknown): Mutation {
      const txToken = uuidv4();
      view.run({ kind: 'mutate', txToken, type, payload }); // never rebases
      const persisted = engine.enqueue({ type, payload, txToken });
      persisted.catch((err: unknown) => {
        const error = err instanceof SyncError ? err.toInfo() : undefined;
        const message = err instanceof SyncError ? err.userMessage : userMessageFor('storage');
        view.run({ kind: 'persistFailed', txToken, message, ...(error ? { error } : {}) });
      });
      return { txToken, persisted };
    },
    dispose(): void {
      subscription.unsubscribe();
      actions$.complete();
      view.complete();
    },
  };
}
