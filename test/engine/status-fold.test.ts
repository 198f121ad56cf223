import { BehaviorSubject, Subject, distinctUntilChanged, observeOn, queueScheduler, scan, skip, startWith } from 'rxjs';
import { createStatusFold, type StatusFold } from '../../src/engine/status-fold';
import { INITIAL_STATUS_STATE, reduceStatus, type StatusAction, type StatusState } from '../../src/engine/status-reducer';

/**
 * `createStatusFold` must behave exactly like the operator chain it
 * replaces: actions through `observeOn(queueScheduler)`, `scan(reduce)`
 * and `distinctUntilChanged()` (seeded with the initial state) into a
 * `BehaviorSubject`. Each case runs
 * both and expects the same observations.
 */
function viaOperators<S, A>(initial: S, reduce: (s: S, a: A) => S): StatusFold<S, A> {
  const actions = new Subject<A>();
  const state = new BehaviorSubject<S>(initial);
  const sub = actions
    .pipe(observeOn(queueScheduler), scan(reduce, initial), startWith(initial), distinctUntilChanged(), skip(1))
    .subscribe((s) => state.next(s));
  return {
    get value() {
      return state.value;
    },
    state$: state.asObservable(),
    dispatch: (a) => actions.next(a),
    close: () => sub.unsubscribe(),
  };
}

type Counter = { readonly n: number };
/** +k adds k; 0 changes nothing (returns the same object). */
const add = (s: Counter, k: number): Counter => (k === 0 ? s : { n: s.n + k });

const impls = [
  ['createStatusFold', createStatusFold],
  ['operators', viaOperators],
] as const;

describe.each(impls)('status fold (%s)', (_label, make) => {
  it('folds actions in order and starts with the initial state', () => {
    const fold = make<Counter, number>({ n: 0 }, add);
    const seen: number[] = [];
    fold.state$.subscribe((s) => seen.push(s.n));
    [1, 2, 3].forEach((k) => fold.dispatch(k));
    expect(seen).toEqual([0, 1, 3, 6]);
    expect(fold.value).toEqual({ n: 6 });
  });

  it('an action that changes nothing wakes no observer', () => {
    const fold = make<Counter, number>({ n: 0 }, add);
    const seen: number[] = [];
    fold.state$.subscribe((s) => seen.push(s.n));
    fold.dispatch(0);
    fold.dispatch(2);
    fold.dispatch(0);
    expect(seen).toEqual([0, 2]);
  });

  it('an action dispatched by an observer is folded after the current one: every observer sees states in order', () => {
    const fold = make<Counter, number>({ n: 0 }, add);
    const first: number[] = [];
    const second: number[] = [];
    fold.state$.subscribe((s) => {
      first.push(s.n);
      // The drain starting inside a state emission dispatches at once.
      if (s.n === 1) fold.dispatch(10);
    });
    fold.state$.subscribe((s) => second.push(s.n));
    fold.dispatch(1);
    expect(first).toEqual([0, 1, 11]);
    expect(second).toEqual([0, 1, 11]);
  });

  it('after close, queued and later actions are dropped', () => {
    const fold = make<Counter, number>({ n: 0 }, add);
    const seen: number[] = [];
    fold.state$.subscribe((s) => {
      seen.push(s.n);
      if (s.n === 1) {
        fold.dispatch(5);
        fold.close();
      }
    });
    fold.dispatch(1);
    fold.dispatch(7);
    expect(seen).toEqual([0, 1]);
    expect(fold.value).toEqual({ n: 1 });
  });

  it('folds the engine status with reduceStatus', () => {
    const fold = make<StatusState, StatusAction>(INITIAL_STATUS_STATE, reduceStatus);
    const seen: StatusState[] = [];
    fold.state$.subscribe((s) => seen.push(s));
    const actions: StatusAction[] = [
      { type: 'started', started: true },
      { type: 'lock', held: true },
      { type: 'idle' },
      { type: 'online', online: false },
      { type: 'online', online: false },
    ];
    actions.forEach((a) => fold.dispatch(a));
    let expected = INITIAL_STATUS_STATE;
    const states = [expected];
    for (const a of actions) {
      const next = reduceStatus(expected, a);
      if (next !== expected) states.push(next);
      expected = next;
    }
    expect(seen).toEqual(states);
  });
});
