import { marbles } from 'rxjs-marbles/jest';
import { ConflictError, PermanentError, StorageError } from '../../src/errors/sync-error';
import type { ProcessOutcome } from '../../streams/outcome';
import { SETTLE_LANE_DEFAULTS, createSettleLane } from '../../streams/settle-lane';
import { commit, completeFromLedger, failOp, type SettleContext } from '../../streams/settle-op';
import { MemoryStorePort, type MemoryStorePortOptions } from '../support/memory-store-port';
import { pendingOp } from '../support/op-fixture';
import type { PendingOp } from '../../src/op/pending-op';
import { concat } from 'rxjs';

type M = Parameters<Parameters<typeof marbles>[0]>[0];

function setup(m: M, options: MemoryStorePortOptions = {}) {
  const store = new MemoryStorePort({ scheduler: m.scheduler, ...options });
  const outcomes: Array<{ readonly at: number; readonly outcome: ProcessOutcome }> = [];
  const ctx: SettleContext = {
    store,
    lane: createSettleLane(m.scheduler),
    now: () => m.scheduler.now(),
    report: (outcome) => outcomes.push({ at: m.scheduler.now(), outcome }),
  };
  const op = pendingOp({ attempts: 2 });
  store.append(op).subscribe();
  return { ctx, store, outcomes, op };
}

describe('commit', () => {
  test(
    'completes at once; the ledger write and removal land in the lane, then committed with the data',
    marbles((m) => {
      const { ctx, store, outcomes, op } = setup(m, { latencyMs: { complete: 30 } });
      m.expect(commit(op, { id: 'a' }, ctx)).toBeObservable('|');
      m.flush();
      expect(store.data.ledger.has(op.idempotencyKey)).toBe(true);
      expect(store.pendingOps()).toEqual([]);
      expect(outcomes).toEqual([{ at: 30, outcome: { type: 'committed', at: 30, op, fromLedger: false, data: { id: 'a' } } }]);
    }),
  );

  test(
    'a failed write reports nothing: the op stays queued and the lane reports the failure',
    marbles((m) => {
      const { ctx, store, outcomes, op } = setup(m);
      const failures: unknown[] = [];
      ctx.lane.failures$.subscribe((e) => failures.push(e));
      store.failNext('complete');
      m.expect(commit(op, {}, ctx)).toBeObservable('|');
      m.flush();
      expect(outcomes).toEqual([]);
      expect(store.pendingOps()).toEqual([op]);
      expect(failures).toHaveLength(1);
    }),
  );
});

describe('commit where the store has completeAll', () => {
  test(
    'commits handed off together are written by one completeAll, then committed for each in order',
    marbles((m) => {
      const { ctx, store, outcomes } = setup(m);
      const calls: string[][] = [];
      // The memory port completes one at a time; `completeAll` writes them in a row, logged as one call.
      Object.assign(store, {
        completeAll: (done: ReadonlyArray<{ readonly op: PendingOp; readonly completedAt: number }>) => {
          calls.push(done.map((d) => d.op.id));
          return concat(...done.map((d) => store.complete(d.op, d.completedAt)));
        },
      });
      const ops = [pendingOp(), pendingOp(), pendingOp()];
      for (const op of ops) store.append(op).subscribe();
      for (const op of ops) m.expect(commit(op, { id: op.id }, ctx)).toBeObservable('|');
      m.flush();
      expect(calls).toEqual([ops.map((op) => op.id)]);
      // Each committed once its write landed, after the lane's merge window (its default).
      const at = SETTLE_LANE_DEFAULTS.mergeWindowMs;
      expect(outcomes.map((o) => [o.at, o.outcome.type, (o.outcome as { op: PendingOp }).op.id])).toEqual(ops.map((op) => [at, 'committed', op.id]));
      expect(store.pendingOps().filter((p) => ops.some((op) => op.id === p.id))).toEqual([]);
    }),
  );
});

describe('completeFromLedger', () => {
  test(
    'completes once the op is removed, then committed from the ledger (no data)',
    marbles((m) => {
      const { ctx, store, outcomes, op } = setup(m, { latencyMs: { complete: 20 } });
      m.expect(completeFromLedger(op, ctx)).toBeObservable('20ms |');
      m.flush();
      expect(store.pendingOps()).toEqual([]);
      expect(outcomes).toEqual([{ at: 20, outcome: { type: 'committed', at: 20, op, fromLedger: true } }]);
    }),
  );
});

describe('failOp', () => {
  test(
    'moves the op to failed_ops, then failed with the record and the fixed user message',
    marbles((m) => {
      const { ctx, store, outcomes, op } = setup(m, { latencyMs: { fail: 10 } });
      const err = new PermanentError({ status: 400 });
      m.expect(failOp(op, 'permanent', err, ctx)).toBeObservable('10ms |');
      m.flush();
      const record = { id: op.id, reason: 'permanent', error: { kind: 'permanent', status: 400 }, attempts: 2, failedAt: 0, op };
      expect(store.data.failed.get(op.id)).toMatchObject({ reason: 'permanent', attempts: 2 });
      expect(outcomes).toEqual([
        { at: 10, outcome: { type: 'failed', at: 10, op, error: record.error, message: err.userMessage, record } },
      ]);
    }),
  );

  test(
    'as a conflict reconciliation failed: a conflict resolved fail, carrying the record',
    marbles((m) => {
      const { ctx, outcomes, op } = setup(m);
      const err = new ConflictError({ status: 409 });
      m.expect(failOp(op, 'conflict', err, ctx, true)).toBeObservable('|');
      m.flush();
      expect(outcomes).toEqual([
        {
          at: 0,
          outcome: {
            type: 'conflict',
            at: 0,
            op,
            error: { kind: 'conflict', status: 409 },
            message: err.userMessage,
            resolution: 'fail',
            record: { id: op.id, reason: 'conflict', error: { kind: 'conflict', status: 409 }, attempts: 2, failedAt: 0, op },
          },
        },
      ]);
    }),
  );

  test(
    'a failed write is the error and reports nothing',
    marbles((m) => {
      const { ctx, store, outcomes, op } = setup(m);
      store.failNext('fail');
      m.expect(failOp(op, 'permanent', new PermanentError({ status: 400 }), ctx)).toBeObservable('#', undefined, new StorageError('unavailable'));
      m.flush();
      expect(outcomes).toEqual([]);
      expect(store.pendingOps()).toEqual([op]);
    }),
  );
});
