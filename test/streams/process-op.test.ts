import { marbles } from 'rxjs-marbles/jest';
import type { Observable } from 'rxjs';
import { processOp, type ProcessContext } from '../../streams/process-op';
import { createSettleLane } from '../../streams/settle-lane';
import type { ApiResponse } from '../../src/api/api-client';
import type { StatusAction } from '../../src/engine/status-reducer';
import type { EngineEvent, OpResult } from '../../src/engine/sync-engine';
import { PermanentError, ServerError, TimeoutError } from '../../src/errors/sync-error';
import { DEFAULT_BACKOFF_POLICY } from '../../src/policy/backoff';
import { FakeAuth, testRoutes } from '../support/engine-harness';
import { MemoryStorePort } from '../support/memory-store-port';
import type { PendingOp } from '../../src/op/pending-op';

type M = Parameters<Parameters<typeof marbles>[0]>[0];

/** A processOp context whose API answers with the given observables, one per send. */
function setup(m: M, answers: Array<Observable<ApiResponse>>, completesAtomically = false) {
  const store = new MemoryStorePort({ scheduler: m.scheduler, completesAtomically });
  const events: EngineEvent[] = [];
  const actions: StatusAction[] = [];
  const results: OpResult[] = [];
  let sends = 0;
  const ctx: ProcessContext = {
    store,
    lane: createSettleLane(m.scheduler),
    api: { send: () => answers[Math.min(sends++, answers.length - 1)]! },
    auth: new FakeAuth(),
    router: testRoutes,
    scheduler: m.scheduler,
    now: () => m.scheduler.now(),
    random: () => 0.5,
    backoff: DEFAULT_BACKOFF_POLICY,
    backoffFactor: () => 1,
    emit: (e) => events.push(e),
    dispatch: (a) => actions.push(a),
    result: (r) => results.push(r),
  };
  return { ctx, store, events, actions, results };
}

function enqueued(store: MemoryStorePort, id = 'a'): PendingOp {
  const op: PendingOp = {
    schemaVersion: 1,
    id: '018f0000-0000-7000-8000-00000000000a' as PendingOp['id'],
    type: 'todo.create',
    payload: { id, title: 't' },
    idempotencyKey: '9b2f5a8e-4a3c-4f7e-9a55-2f1f0c3f1a11' as PendingOp['idempotencyKey'],
    traceId: '0c3a5d0e-6f6b-4b7e-8f5e-5a0f3e2d1c9b' as PendingOp['traceId'],
    txToken: 'tx',
    createdAt: 0,
    attempts: 0,
    nextAttemptAt: null,
  };
  store.append(op).subscribe();
  return op;
}

describe('processOp (virtual time)', () => {
  test(
    '500 until exhausted: one subscription per attempt at the backoff times, then failed_ops',
    marbles((m) => {
      const e500 = m.cold<ApiResponse>('10ms #', undefined, new ServerError({ status: 500 }));
      const { ctx, store, results } = setup(m, [e500]);
      const op = enqueued(store);
      // Waits 500, 1000, 2000, 4000 (full jitter with random 0.5).
      m.expect(processOp(op, ctx)).toBeObservable('7550ms |');
      m.has(e500, ['^ 9ms !', '510ms ^ 9ms !', '1520ms ^ 9ms !', '3530ms ^ 9ms !', '7540ms ^ 9ms !']);
      m.flush();
      expect(results).toMatchObject([{ outcome: 'failed', reason: 'exhausted' }]);
      expect(store.data.failed.get(op.id)).toMatchObject({ attempts: 5 });
    }),
  );

  test(
    'timeout then success: the retry subscribes to the next answer after the backoff',
    marbles((m) => {
      const timeout = m.cold<ApiResponse>('100ms #', undefined, new TimeoutError());
      const success = m.cold<ApiResponse>('10ms (r|)', { r: { status: 200, data: {} } });
      const { ctx, store, results, events } = setup(m, [timeout, success]);
      const op = enqueued(store);
      m.expect(processOp(op, ctx)).toBeObservable('610ms |');
      m.has(timeout, ['^ 99ms !']);
      m.has(success, ['600ms ^ 9ms !']);
      m.flush();
      expect(results).toMatchObject([{ outcome: 'committed' }]);
      const backoff = events.find((e) => e.type === 'backoff') as Extract<EngineEvent, { type: 'backoff' }>;
      expect(backoff.op.attempts).toBe(0);
      expect(backoff.op.lastError).toEqual({ kind: 'timeout' });
    }),
  );

  test.each([
    [false, 1],
    [true, 0],
  ])(
    'a store whose completion is one transaction (%s) is not asked isCompleted before the send (%i asks)',
    (atomic, asks) =>
      marbles((m) => {
        const success = m.cold<ApiResponse>('10ms (r|)', { r: { status: 201, data: {} } });
        const { ctx, store, results } = setup(m, [success], atomic);
        const op = enqueued(store);
        m.expect(processOp(op, ctx)).toBeObservable('10ms |');
        m.has(success, ['^ 9ms !']);
        m.flush();
        expect(store.calls.filter((c) => c.method === 'isCompleted')).toHaveLength(asks);
        expect(results).toMatchObject([{ outcome: 'committed' }]);
        expect(store.data.ledger.has(op.idempotencyKey)).toBe(true);
        expect(store.pendingOps()).toEqual([]);
      })(),
  );

  test(
    'a permanent error is not retried: a single subscription',
    marbles((m) => {
      const e400 = m.cold<ApiResponse>('10ms #', undefined, new PermanentError({ status: 400 }));
      const { ctx, store, results } = setup(m, [e400]);
      const op = enqueued(store);
      m.expect(processOp(op, ctx)).toBeObservable('10ms |');
      m.has(e400, ['^ 9ms !']);
      m.flush();
      expect(results).toMatchObject([{ outcome: 'failed', reason: 'permanent', error: { kind: 'permanent', status: 400 } }]);
    }),
  );

  test(
    'unsubscribing mid-backoff persists nothing more and sends nothing more',
    marbles((m) => {
      const e500 = m.cold<ApiResponse>('10ms #', undefined, new ServerError({ status: 500 }));
      const { ctx, store } = setup(m, [e500]);
      const op = enqueued(store);
      m.expect(processOp(op, ctx), '^ 299ms !').toBeObservable('-');
      m.has(e500, ['^ 9ms !']);
      m.flush();
      expect(store.pendingOps()).toMatchObject([{ attempts: 1, nextAttemptAt: 510, lastError: { kind: 'server', status: 500 } }]);
    }),
  );
});
