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
  shownUnsaved,
  type OptimisticAction,
  type OptimisticReducer,
  type OptimisticState,
} from './optimistic-reducer';
import type { ConfirmedFor, Mutation, OptimisticStore, OptimisticStoreOptions, Rollback } from './optimistic-types';
import { pendingEntries, type PublishedLayers } from './pending-entries';

export type {
  ApplyFn,
  ApplyMap,
  CommitFn,
  CommitMap,
  ConfirmedFor,
  Mutation,
  OptimisticStore,
  OptimisticStoreOptions,
  PendingEntry,
  PendingStatus,
  Rollback,
  RollbackReason,
} from './optimistic-types';

const defined = <T>(s$: Observable<T | undefined>): Observable<T> => s$.pipe(filter((v): v is T => v !== undefined));

const NO_LAYERS: PublishedLayers = Object.freeze({ layers: [], unsaved: [] });

/**
 * Holds the reducer's state and carries out its steps: clear, publish,
 * roll back, rebase (re-read the pending ops from the store, paged, and
 * fold them). Engine actions run one at a time (a rebase finishes before
 * the next); `mutate`, a failed durable write and an account change are
 * reduced at once (`step`), so a change shows — and another account's view
 * is withdrawn — in the same tick even while a rebase is reading.
 */
class OptimisticView<S> {
  state: OptimisticState<S>;
  readonly state$ = new BehaviorSubject<S | undefined>(undefined);
  readonly confirmed$ = new BehaviorSubject<S | undefined>(undefined);
  readonly layers$ = new BehaviorSubject<PublishedLayers>(NO_LAYERS);
  readonly rollbacks$ = new Subject<Rollback>();

  constructor(
    private readonly engine: EngineCore,
    private readonly reducer: OptimisticReducer<S>,
    initial: OptimisticState<S>,
  ) {
    this.state = initial;
  }

  /** Reduce `action` and carry out its effects but the rebase; whether it asks for one. */
  step(action: OptimisticAction<S>): boolean {
    const step = this.reducer.reduce(this.state, action);
    const state = (this.state = step.state);
    if (step.clear) {
      this.state$.next(undefined);
      this.confirmed$.next(undefined);
      this.layers$.next(NO_LAYERS);
    }
    if (step.publish) {
      this.state$.next(state.view);
      this.confirmed$.next(state.confirmed);
      this.layers$.next({ layers: state.layers, unsaved: shownUnsaved(state) });
    }
    if (step.rollback) this.rollbacks$.next(step.rollback);
    return step.rebase === true;
  }

  /** `step`, then the rebase it asks for. */
  run(action: OptimisticAction<S>): Observable<void> {
    if (!this.step(action)) return EMPTY;
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
 * Per account: the view is the engine's signed-in account's (`account$`).
 * On a change it is withdrawn at once and rebuilt from the new account's
 * confirmed state (`initial`) and its pending ops only; the previous
 * account's layers come back when it signs in again.
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
  const { initial } = options;
  const confirmedFor = typeof initial === 'function' && !isObservable(initial) ? (initial as ConfirmedFor<S>) : undefined;
  const shared$ = isObservable(initial) ? initial : undefined;
  // The last confirmed state given for every account (a value, or the shared Observable's latest).
  let latest: { readonly state: S } | undefined = confirmedFor || shared$ ? undefined : { state: initial as S };
  const view = new OptimisticView<S>(engine, reducer, initialOptimisticState(latest?.state as S, null, latest !== undefined));
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
  if (shared$) {
    subscription.add(
      shared$.subscribe((state) => {
        latest = { state };
        actions$.next({ kind: 'confirmed', state });
      }),
    );
  }
  // The account's own confirmed source (`confirmedFor` answered an Observable).
  let ofAccount = Subscription.EMPTY;
  subscription.add(() => ofAccount.unsubscribe());
  const show = (account: string | null): void => {
    ofAccount.unsubscribe();
    const answer = confirmedFor?.(account);
    const source$ = isObservable(answer) ? answer : undefined;
    const confirmed = confirmedFor ? (source$ ? undefined : { state: answer as S }) : latest;
    // Withdraw the previous view at once; the read goes through the queue,
    // after a read in progress (which is dropped: it was for the previous account).
    if (view.step({ kind: 'account', account, ...(confirmed ? { confirmed } : {}) })) actions$.next({ kind: 'load' });
    if (source$) ofAccount = source$.subscribe((state) => actions$.next({ kind: 'confirmed', state, account }));
  };
  // Replays the current account at once: the first load.
  subscription.add(engine.account$.pipe(distinctUntilChanged()).subscribe(show));

  return {
    state$: defined(view.state$.asObservable()).pipe(distinctUntilChanged()),
    confirmed$: defined(view.confirmed$.asObservable()).pipe(distinctUntilChanged()),
    pending$: pendingEntries(view.layers$.asObservable(), engine.status$),
    rollbacks$: view.rollbacks$.asObservable(),
    mutate(type: string, payload: unknown): Mutation {
      const txToken = uuidv4();
      view.step({ kind: 'mutate', txToken, type, payload }); // never rebases
      const persisted = engine.enqueue({ type, payload, txToken });
      persisted.catch((err: unknown) => {
        const error = err instanceof SyncError ? err.toInfo() : undefined;
        const message = err instanceof SyncError ? err.userMessage : userMessageFor('storage');
        view.step({ kind: 'persistFailed', txToken, message, ...(error ? { error } : {}) });
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
