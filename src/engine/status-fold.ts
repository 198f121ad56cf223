import { BehaviorSubject, type Observable } from 'rxjs';

/**
 * A state folded from actions and held in a `BehaviorSubject`: the engine's
 * `status$` source.
 *
 * @example
 * const fold = createStatusFold(INITIAL_STATUS_STATE, reduceStatus);
 * fold.state$.subscribe(render);
 * fold.dispatch({ type: 'online', online: false });
 */
export interface StatusFold<S, A> {
  /** The current state (the last one emitted). */
  readonly value: S;
  /** Every new state, starting with the current one. */
  readonly state$: Observable<S>;
  /** Fold `action` in; a no-op after `close()`. */
  dispatch(action: A): void;
  /** Fold nothing more: actions queued or dispatched later are dropped. */
  close(): void;
}

/**
 * The fold as one object instead of `actions$.pipe(observeOn(queueScheduler),
 * scan(reduce, initial), startWith(initial), distinctUntilChanged(), skip(1))`
 * feeding a `BehaviorSubject`, with the same behaviour (pinned by
 * `test/engine/status-fold.test.ts`): an action dispatched while one is
 * being folded (the drain starting inside a state emission) is queued and
 * folded after it, so every observer sees the states in order; an action
 * that changes nothing (`reduce` returns the same object) wakes no
 * observer.
 *
 * Why not the operators: three dispatches per op, each a scheduled action
 * and two subscribers in the chain (docs/performance.md, Drain).
 *
 * @example
 * const fold = createStatusFold(0, (n: number, by: number) => n + by);
 */
export function createStatusFold<S, A>(initial: S, reduce: (state: S, action: A) => S): StatusFold<S, A> {
  const state = new BehaviorSubject<S>(initial);
  const pending: A[] = [];
  let folding = false;
  let closed = false;
  return {
    get value() {
      return state.value;
    },
    state$: state.asObservable(),
    dispatch(action) {
      if (closed) return;
      pending.push(action);
      if (folding) return;
      folding = true;
      try {
        while (pending.length > 0) {
          const prev = state.value;
          const s = reduce(prev, pending.shift() as A);
          if (s !== prev) state.next(s);
          if (closed) pending.length = 0;
        }
      } finally {
        folding = false;
      }
    },
    close() {
      closed = true;
    },
  };
}
