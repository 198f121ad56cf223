import vectors from '../../test-vectors/status_reducer.json';
import {
  INITIAL_STATUS_STATE,
  reduceStatus,
  sameStatus,
  toEngineStatus,
  type StatusAction,
} from '../../src/engine/status-reducer';
import type { EngineStatus } from '../../src/engine/sync-engine';

interface Vector {
  readonly name: string;
  readonly actions: readonly StatusAction[];
  readonly expect: EngineStatus;
}

describe('reduceStatus', () => {
  const cases = vectors.cases as unknown as readonly Vector[];

  test('has vectors', () => {
    expect(cases.length).toBeGreaterThan(10);
  });

  test.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const state = c.actions.reduce(reduceStatus, INITIAL_STATUS_STATE);
    expect(toEngineStatus(state)).toEqual(c.expect);
  });

  test('is pure: the input state is never mutated', () => {
    const before = JSON.stringify(INITIAL_STATUS_STATE);
    for (const c of cases) c.actions.reduce(reduceStatus, INITIAL_STATUS_STATE);
    expect(JSON.stringify(INITIAL_STATUS_STATE)).toBe(before);
  });

  test('sameStatus compares by content', () => {
    const a = toEngineStatus(INITIAL_STATUS_STATE);
    const b = toEngineStatus(reduceStatus(INITIAL_STATUS_STATE, { type: 'online', online: true }));
    expect(sameStatus(a, b)).toBe(true);
    const c = toEngineStatus(reduceStatus(INITIAL_STATUS_STATE, { type: 'error', error: { kind: 'network' } }));
    expect(sameStatus(a, c)).toBe(false);
  });
});
