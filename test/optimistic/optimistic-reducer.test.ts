import { dequal } from 'dequal';
import vectors from '../../test-vectors/optimistic_reducer.json';
import type { OpResult } from '../../src/engine/sync-engine';
import type { ErrorInfo } from '../../src/errors/sync-error';
import type { PendingOp } from '../../src/op/pending-op';
import type { FailedRecord, StoreChange } from '../../src/store/op-store';
import {
  initialOptimisticState,
  optimisticReducer,
  type OptimisticAction,
  type OptimisticState,
  type OptimisticStep,
} from '../../src/optimistic/optimistic-reducer';
import type { Rollback } from '../../src/optimistic/optimistic-types';

type S = readonly number[];

interface OpSpec {
  readonly id?: string;
  readonly type?: string;
  readonly payload?: number;
  readonly key?: string;
  /** The op's `accountId` (none when absent). */
  readonly account?: string;
}

/** An action as the vectors write it: ops by name. */
interface VectorAction {
  readonly kind: OptimisticAction<S>['kind'];
  readonly op?: string;
  readonly ops?: readonly string[];
  readonly state?: S;
  readonly type?: StoreChange['type'];
  readonly reason?: FailedRecord['reason'];
  readonly withoutOp?: boolean;
  readonly outcome?: OpResult['outcome'];
  readonly data?: unknown;
  readonly error?: ErrorInfo;
  readonly message?: string;
  readonly resolution?: OpResult['resolution'];
  /** For `account` and `confirmed`: the account (null: signed out). */
  readonly account?: string | null;
  /** For `account`: the new account's confirmed state (absent: not known yet). */
  readonly confirmed?: S;
  /** For `rebased`: the read started from the state before this step (a read in progress across later steps). */
  readonly readFrom?: number;
}

interface Expect {
  readonly effects: ReadonlyArray<'clear' | 'publish' | 'rollback' | 'rebase'>;
  readonly rollback?: Rollback;
  readonly ready?: boolean;
  readonly view?: S;
  readonly persistedView?: S;
  readonly confirmed?: S;
  readonly layers?: readonly string[];
  readonly unsaved?: readonly string[];
  readonly departed?: readonly string[];
  readonly completedOps?: readonly string[];
  readonly committedResults?: readonly string[];
  readonly account?: string | null;
  readonly confirmedKnown?: boolean;
}

interface Vector {
  readonly name: string;
  readonly initial: S;
  /** The account shown at first (default null). */
  readonly account?: string;
  readonly ops: Readonly<Record<string, OpSpec>>;
  readonly steps: ReadonlyArray<{ readonly action: VectorAction; readonly expect: Expect }>;
}

const reducer = optimisticReducer<S>({
  apply: { push: (s: S, p: number): S => [...s, p] },
  commit: { push: (s: S, p: number, data: unknown): S => [...s, typeof data === 'number' ? data : p] },
  equals: dequal,
});

function opOf(c: Vector, name: string): PendingOp {
  const spec = c.ops[name];
  if (!spec) throw new Error(`vector "${c.name}": no op ${name}`);
  const id = spec.id ?? name;
  return {
    id,
    txToken: `tx-${id}`,
    type: spec.type ?? 'push',
    payload: spec.payload,
    idempotencyKey: spec.key ?? `key-${id}`,
    ...(spec.account === undefined ? {} : { accountId: spec.account }),
  } as unknown as PendingOp;
}

function changeOf(c: Vector, a: VectorAction, op: PendingOp): StoreChange {
  switch (a.type) {
    case 'appended':
    case 'updated':
    case 'rewritten':
    case 'completed':
      return { type: a.type, op };
    case 'retried':
      return { type: 'retried', op, failedId: `dead-${op.id}` };
    case 'failed':
    case 'discarded': {
      const record = { id: op.id, reason: a.reason, attempts: 1, failedAt: 0, ...(a.withoutOp ? {} : { op }) } as unknown as FailedRecord;
      return { type: a.type, record };
    }
  }
  throw new Error(`vector "${c.name}": change type ${String(a.type)}`);
}

/** The reducer's action for a vector's, given the state it applies to. */
function actionOf(c: Vector, a: VectorAction, states: readonly OptimisticState<S>[]): OptimisticAction<S> {
  const state = states[states.length - 1]!;
  const op = a.op === undefined ? undefined : opOf(c, a.op);
  switch (a.kind) {
    case 'load':
      return { kind: 'load' };
    case 'confirmed':
      return { kind: 'confirmed', state: a.state!, ...(a.account === undefined ? {} : { account: a.account }) };
    case 'account':
      return { kind: 'account', account: a.account ?? null, ...(a.confirmed === undefined ? {} : { confirmed: { state: a.confirmed } }) };
    case 'rebased':
      return { kind: 'rebased', read: a.ops!.map((n) => opOf(c, n)).reduce(reducer.readOp, reducer.startRead(states[a.readFrom ?? states.length - 1]!)) };
    case 'mutate':
      return { kind: 'mutate', txToken: op!.txToken, type: op!.type, payload: op!.payload };
    case 'persistFailed':
      return { kind: 'persistFailed', txToken: op!.txToken, message: a.message!, ...(a.error ? { error: a.error } : {}) };
    case 'change':
      return { kind: 'change', change: changeOf(c, a, op!) };
    case 'result': {
      const { outcome, data, error, message, resolution, reason } = a;
      const result = { opId: op!.id, txToken: op!.txToken, type: op!.type, outcome: outcome!, data, error, message, resolution, reason };
      return { kind: 'result', result: JSON.parse(JSON.stringify(result)) as OpResult };
    }
  }
}

/** Freeze deeply, so a reducer that mutates its input throws. */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

const effectsOf = (step: OptimisticStep<S>): string[] =>
  (['clear', 'publish', 'rollback', 'rebase'] as const).filter((e) => step[e] !== undefined);

function check(step: OptimisticStep<S>, e: Expect): void {
  const s = step.state;
  expect(effectsOf(step)).toEqual([...e.effects]);
  expect(step.rollback).toEqual(e.rollback);
  if (step.publish) expect(step.publish).toBe(true);
  if (step.rebase) expect(step.rebase).toBe(true);
  if (step.clear) expect(step.clear).toBe(true);
  const seen = {
    ready: s.ready,
    view: s.view,
    persistedView: s.persistedView,
    confirmed: s.confirmed,
    layers: s.layers.map((l) => l.opId),
    unsaved: s.unsaved.map((u) => u.txToken),
    departed: s.departed,
    completedOps: Object.keys(s.completedOps),
    committedResults: Object.keys(s.committedResults),
    account: s.account,
    confirmedKnown: s.confirmedKnown,
  };
  const { effects: _effects, rollback: _rollback, ...fields } = e;
  expect(seen).toMatchObject(fields);
}

describe('optimisticReducer', () => {
  const cases = vectors.cases as unknown as readonly Vector[];

  test('has vectors', () => {
    expect(cases.length).toBeGreaterThan(20);
  });

  test.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    let state = deepFreeze(initialOptimisticState<S>(c.initial, c.account ?? null));
    // states[i]: the state before step i.
    const states = [state];
    c.steps.forEach(({ action, expect: e }, i) => {
      const step = reducer.reduce(state, actionOf(c, action, states));
      try {
        check(step, e);
      } catch (err) {
        throw new Error(`step ${i} (${JSON.stringify(action)}): ${(err as Error).message}`);
      }
      state = deepFreeze(step.state);
      states.push(state);
    });
  });

  test('an append of the only unsaved layer reuses the published view (no equal copy to emit)', () => {
    let state = reducer.reduce(initialOptimisticState<S>([]), { kind: 'load' }).state;
    state = reducer.reduce(state, { kind: 'rebased', read: reducer.startRead(state) }).state;
    state = reducer.reduce(state, { kind: 'mutate', txToken: 'tx-a', type: 'push', payload: 1 }).state;
    const shown = state.view;
    const op = { id: 'a', txToken: 'tx-a', type: 'push', payload: 1, idempotencyKey: 'k' } as unknown as PendingOp;
    const next = reducer.reduce(state, { kind: 'change', change: { type: 'appended', op } }).state;
    expect(next.view).toBe(shown);
    expect(next.persistedView).toBe(shown);
  });
});
