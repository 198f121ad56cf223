import { marbles } from 'rxjs-marbles/jest';
import { ConflictError } from '../../src/errors/sync-error';
import type { PendingOp } from '../../src/op/pending-op';
import type { ProcessOutcome } from '../../streams/outcome';
import { resolveConflict, type ConflictContext, type Reconcile, type ReconcileDecision } from '../../streams/resolve-conflict';
import { createSettleLane } from '../../streams/settle-lane';
import { testRoutes } from '../support/engine-harness';
import { MemoryStorePort } from '../support/memory-store-port';
import { pendingOp } from '../support/op-fixture';

type M = Parameters<Parameters<typeof marbles>[0]>[0];

const conflict = new ConflictError({ status: 409 });
const conflictInfo = { kind: 'conflict', status: 409 };

function setup(m: M, reconcile?: Reconcile) {
  const store = new MemoryStorePort({ scheduler: m.scheduler, latencyMs: { rewrite: 10, fail: 10, discardFailed: 5 } });
  const outcomes: ProcessOutcome[] = [];
  const ctx: ConflictContext = {
    store,
    lane: createSettleLane(m.scheduler),
    now: () => m.scheduler.now(),
    report: (o) => outcomes.push(o),
    router: testRoutes,
    reconcile,
  };
  const op = pendingOp({ attempts: 1 });
  store.append(op).subscribe();
  return { ctx, store, outcomes, op };
}

const resolutions = (outcomes: readonly ProcessOutcome[]) => outcomes.map((o) => (o.type === 'conflict' ? o.resolution : o.type));

describe('resolveConflict', () => {
  test(
    'no reconcile hook: fail — moved to failed_ops, then null',
    marbles((m) => {
      const { ctx, store, outcomes, op } = setup(m);
      m.expect(resolveConflict(op, conflict, ctx)).toBeObservable('10ms (n|)', { n: null });
      m.flush();
      expect(store.data.failed.get(op.id)).toMatchObject({ reason: 'conflict' });
      expect(outcomes).toMatchObject([{ type: 'conflict', at: 10, resolution: 'fail', error: conflictInfo, record: { reason: 'conflict', attempts: 1 } }]);
    }),
  );

  test(
    'retry: the new payload under a NEW key, budget reset, persisted before it is emitted',
    marbles((m) => {
      const { ctx, store, outcomes, op } = setup(m, () => ({ action: 'retry', payload: { id: 'a', title: 'merged' } }));
      let next: PendingOp | null = null;
      let emittedAt = -1;
      resolveConflict(op, conflict, ctx).subscribe((n) => {
        next = n;
        emittedAt = m.scheduler.now();
      });
      m.flush();
      expect(emittedAt).toBe(10);
      expect(next).toMatchObject({ id: op.id, payload: { id: 'a', title: 'merged' }, attempts: 0, nextAttemptAt: null, lastError: conflictInfo });
      expect(next!.idempotencyKey).not.toBe(op.idempotencyKey);
      expect(store.pendingOps()).toEqual([next]);
      expect(resolutions(outcomes)).toEqual(['retry']);
      expect(outcomes[0]).toMatchObject({ type: 'conflict', op, error: conflictInfo, message: conflict.userMessage });
    }),
  );

  test(
    'retry with a payload the route refuses: fail instead',
    marbles((m) => {
      const { ctx, store, outcomes, op } = setup(m, () => ({ action: 'retry', payload: { id: 1 } }));
      m.expect(resolveConflict(op, conflict, ctx)).toBeObservable('10ms (n|)', { n: null });
      m.flush();
      expect(store.data.failed.get(op.id)).toMatchObject({ reason: 'conflict' });
      expect(resolutions(outcomes)).toEqual(['fail']);
    }),
  );

  test(
    'drop: dead-lettered then discarded (nothing kept), then null',
    marbles((m) => {
      const { ctx, store, outcomes, op } = setup(m, () => ({ action: 'drop' }));
      m.expect(resolveConflict(op, conflict, ctx)).toBeObservable('15ms (n|)', { n: null });
      m.flush();
      expect(store.pendingOps()).toEqual([]);
      expect(store.data.failed.size).toBe(0);
      expect(outcomes).toEqual([{ type: 'conflict', at: 15, op, error: conflictInfo, message: conflict.userMessage, resolution: 'drop' }]);
    }),
  );

  test.each<[string, (m: M) => Reconcile]>([
    ['a throwing hook', () => () => {
      throw new Error('bug');
    }],
    ['an Observable that errors', (m) => () => m.cold<ReconcileDecision>('5ms #')],
    ['an Observable that completes without an answer', (m) => () => m.cold<ReconcileDecision>('5ms |')],
  ])('%s means fail', (_name, hook) =>
    marbles((m) => {
      const { ctx, outcomes, op } = setup(m, hook(m));
      resolveConflict(op, conflict, ctx).subscribe();
      m.flush();
      expect(resolutions(outcomes)).toEqual(['fail']);
    })(),
  );

  test(
    'an Observable answer: its first value, later in time; the hook is unsubscribed after it',
    marbles((m) => {
      const answer = m.cold<ReconcileDecision>('20ms d 5ms r', { d: { action: 'drop' }, r: { action: 'retry', payload: {} } });
      const { ctx, outcomes, op } = setup(m, () => answer);
      m.expect(resolveConflict(op, conflict, ctx)).toBeObservable('35ms (n|)', { n: null });
      m.expect(answer).toHaveSubscriptions('^ 19ms !');
      m.flush();
      expect(resolutions(outcomes)).toEqual(['drop']);
    }),
  );
});
