import { marbles } from 'rxjs-marbles/jest';
import type { Observable } from 'rxjs';
import { processOp, type ProcessContext } from '../../streams/process-op';
import { createSettleLane } from '../../streams/settle-lane';
import type { ApiResponse } from '../../src/api/api-client';
import { fanOutOutcome } from '../../src/engine/outcome-fan-out';
import type { StatusAction } from '../../src/engine/status-reducer';
import type { EngineEvent, OpResult } from '../../src/engine/sync-engine';
import { AuthError, ConflictError, PermanentError, RateLimitError, ServerError, TimeoutError } from '../../src/errors/sync-error';
import { DEFAULT_BACKOFF_POLICY, MAX_TIMER_DELAY_MS } from '../../src/policy/backoff';
import { FakeAuth, testRoutes } from '../support/engine-harness';
import { hostTimerScheduler } from '../support/host-timer-scheduler';
import { MemoryStorePort } from '../support/memory-store-port';
import type { PendingOp } from '../../src/op/pending-op';
import type { ProcessOutcome } from '../../streams/outcome';

type M = Parameters<Parameters<typeof marbles>[0]>[0];

/** A processOp context whose API answers with the given observables, one per send. */
function setup(m: M, answers: Array<Observable<ApiResponse>>, completesAtomically = false, over: Partial<ProcessContext> = {}) {
  const store = new MemoryStorePort({ scheduler: m.scheduler, completesAtomically });
  const events: EngineEvent[] = [];
  const actions: StatusAction[] = [];
  const results: OpResult[] = [];
  const outcomes: ProcessOutcome[] = [];
  // Published as the engine does, so events, status actions and results
  // are asserted as the app sees them.
  const sinks = { event: (e: EngineEvent) => events.push(e), status: (a: StatusAction) => actions.push(a), result: (r: OpResult) => results.push(r) };
  let sends = 0;
  const ctx: ProcessContext = {
    store,
    lane: createSettleLane(m.scheduler),
    api: { send: () => answers[Math.min(sends++, answers.length - 1)]!, sendBatch: () => { throw new Error('not batched'); } },
    auth: new FakeAuth(),
    router: testRoutes,
    scheduler: m.scheduler,
    now: () => m.scheduler.now(),
    random: () => 0.5,
    backoff: DEFAULT_BACKOFF_POLICY,
    backoffFactor: () => 1,
    report: (o) => {
      outcomes.push(o);
      fanOutOutcome(o, sinks);
    },
    ...over,
  };
  return { ctx, store, events, actions, results, outcomes };
}

function enqueued(store: MemoryStorePort, id = 'a', stored: Partial<PendingOp> = {}): PendingOp {
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
    ...stored,
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

  test(
    'a domain conflict reconciled with retry: the rewritten op is sent under a new key, then committed',
    marbles((m) => {
      const e409 = m.cold<ApiResponse>('10ms #', undefined, new ConflictError({ status: 409 }));
      const success = m.cold<ApiResponse>('10ms (r|)', { r: { status: 200, data: {} } });
      const keys: string[] = [];
      const { ctx, store, outcomes } = setup(m, [], false, {
        api: { send: (req) => (keys.push(req.idempotencyKey), keys.length === 1 ? e409 : success), sendBatch: () => { throw new Error('not batched'); } },
        reconcile: () => ({ action: 'retry', payload: { id: 'a', title: 'merged' } }),
      });
      const op = enqueued(store);
      m.expect(processOp(op, ctx)).toBeObservable('20ms |');
      m.has(success, ['10ms ^ 9ms !']);
      m.flush();
      expect(keys).toHaveLength(2);
      expect(keys[1]).not.toBe(keys[0]);
      expect(outcomes.map((o) => (o.type === 'conflict' ? `conflict:${o.resolution}` : o.type))).toEqual([
        'attemptStarted',
        'sending',
        'attemptFailed',
        'conflict:retry',
        'attemptStarted',
        'sending',
        'attemptSucceeded',
        'committed',
      ]);
    }),
  );

  test(
    'a second 401: the reason on the status, then authRequired; the op stays queued and processOp stays open',
    marbles((m) => {
      const e401 = m.cold<ApiResponse>('10ms #', undefined, new AuthError({ status: 401 }));
      const auth = new FakeAuth();
      auth.refreshes.push('token-2');
      const { ctx, store, actions, events, results } = setup(m, [e401], false, { auth });
      const op = enqueued(store);
      m.expect(processOp(op, ctx), '^ 999ms !').toBeObservable('-');
      m.has(e401, ['^ 9ms !', '10ms ^ 9ms !']);
      m.flush();
      expect(actions.slice(-3)).toEqual([{ type: 'error', error: { kind: 'auth', status: 401 } }, { type: 'idle' }, { type: 'authRequired', required: true }]);
      expect(events[events.length - 1]).toEqual({ type: 'authRequired', at: 20 });
      expect(results).toEqual([]);
      expect(store.pendingOps()).toEqual([op]);
    }),
  );

  describe('every wait bounded after every multiplier (host timers overflow above 2^31 − 1 ms)', () => {
    const HOUR = 3_600_000;

    test.each([1e7, Number.MAX_VALUE])(
      'a 500 under power-saving factor %d waits the policy maximum (1 h) each time, never burning the 5 attempts at once',
      (factor) =>
        marbles((m) => {
          const e500 = m.cold<ApiResponse>('10ms #', undefined, new ServerError({ status: 500 }));
          const { ctx, store, events, results } = setup(m, [e500], false, {
            scheduler: hostTimerScheduler(m.scheduler),
            backoffFactor: () => factor,
          });
          const op = enqueued(store);
          m.expect(processOp(op, ctx)).toBeObservable(`${4 * (HOUR + 10) + 10}ms |`);
          m.has(e500, [0, 1, 2, 3, 4].map((n) => `${n * (HOUR + 10)}ms ^ 9ms !`));
          m.flush();
          expect(events.filter((e) => e.type === 'backoff').map((e) => (e as { delayMs: number }).delayMs)).toEqual([HOUR, HOUR, HOUR, HOUR]);
          expect(results).toMatchObject([{ outcome: 'failed', reason: 'exhausted' }]);
        })(),
    );

    test(
      'a 429 asking 1e12 s, with the most extreme policy and factor validation accepts, waits 2^31 − 1 ms, not 0',
      marbles((m) => {
        const e429 = m.cold<ApiResponse>('10ms #', undefined, new RateLimitError({ status: 429, retryAfterMs: 1e15 }));
        const success = m.cold<ApiResponse>('10ms (r|)', { r: { status: 200, data: {} } });
        const extreme = { ...DEFAULT_BACKOFF_POLICY, capMs: MAX_TIMER_DELAY_MS, maxRetryAfterMs: MAX_TIMER_DELAY_MS };
        const { ctx, store, actions, results } = setup(m, [e429, success], false, {
          scheduler: hostTimerScheduler(m.scheduler),
          backoff: extreme,
          backoffFactor: () => Number.MAX_VALUE,
        });
        const op = enqueued(store);
        m.expect(processOp(op, ctx)).toBeObservable(`${10 + MAX_TIMER_DELAY_MS + 10}ms |`);
        m.has(e429, ['^ 9ms !']);
        m.has(success, [`${10 + MAX_TIMER_DELAY_MS}ms ^ 9ms !`]);
        m.flush();
        // The stall is visible, with the time it ends.
        expect(actions).toContainEqual(expect.objectContaining({ type: 'waiting', nextAttemptAt: 10 + MAX_TIMER_DELAY_MS }));
        expect(results).toMatchObject([{ outcome: 'committed' }]);
      }),
    );

    test(
      'a storage failure under the largest factor waits the policy maximum before starting over',
      marbles((m) => {
        const success = m.cold<ApiResponse>('10ms (r|)', { r: { status: 200, data: {} } });
        const { ctx, store, results } = setup(m, [success], false, {
          scheduler: hostTimerScheduler(m.scheduler),
          backoffFactor: () => Number.MAX_VALUE,
        });
        const op = enqueued(store);
        store.failNext('isCompleted');
        m.expect(processOp(op, ctx)).toBeObservable(`${HOUR + 10}ms |`);
        m.has(success, [`${HOUR}ms ^ 9ms !`]);
        m.flush();
        expect(results).toMatchObject([{ outcome: 'committed' }]);
      }),
    );
  });

  describe('a stored nextAttemptAt is capped on read (the clock jumped since it was written)', () => {
    const HOUR = 3_600_000;
    const DAY = 24 * HOUR;
    // Stored after a 429 with Retry-After: 3 at t = 0 on the old clock: nextAttemptAt = 3 000.
    const rateLimited = { kind: 'rateLimited' as const, status: 429, retryAfterMs: 3_000 };

    test.each([
      ['same clock: the 3 s left', 0, 3_000],
      ['clock 1 h back: capped at capMs (2 min), not 1 h', -HOUR, 120_000],
      ['clock 2 days back: capped at capMs (2 min), not 2 days', -2 * DAY, 120_000],
      ['clock 1 h ahead: due, sent at once', HOUR, 0],
      ['clock 2 days ahead: due, sent at once', 2 * DAY, 0],
    ])('%s', (_name, jumpMs, expectedWait) =>
      marbles((m) => {
        const success = m.cold<ApiResponse>('10ms (r|)', { r: { status: 200, data: {} } });
        const { ctx, store, actions, results } = setup(m, [success], false, {
          now: () => m.scheduler.now() + jumpMs,
        });
        const op = enqueued(store, 'a', { attempts: 1, nextAttemptAt: 3_000, lastError: rateLimited });
        m.expect(processOp(op, ctx)).toBeObservable(`${expectedWait + 10}ms |`);
        m.has(success, [`${expectedWait}ms ^ 9ms !`]);
        m.flush();
        expect(results).toMatchObject([{ outcome: 'committed' }]);
        // status$ shows when the wait really ends, on the engine's clock.
        const waiting = actions.filter((a) => a.type === 'waiting');
        expect(waiting).toEqual(expectedWait === 0 ? [] : [expect.objectContaining({ nextAttemptAt: jumpMs + expectedWait })]);
      })(),
    );
  });

  describe('"sync now" and cancel requests end its waits', () => {
    const e500 = (m: M) => m.cold<ApiResponse>('10ms #', undefined, new ServerError({ status: 500 }));
    const ok = (m: M) => m.cold<ApiResponse>('10ms (r|)', { r: { status: 200, data: {} } });
    const request = (opId: string) => ({ opId: opId as PendingOp['id'], claim: jest.fn() });

    test(
      'syncNow$ ends the backoff wait: the retry is sent at once',
      marbles((m) => {
        const [fail, success] = [e500(m), ok(m)];
        const { ctx, store, results } = setup(m, [fail, success], false, { syncNow$: m.hot('200ms s') });
        const op = enqueued(store);
        // Without it the retry would go out at 510 (a 500 ms wait).
        m.expect(processOp(op, ctx)).toBeObservable('210ms |');
        m.has(fail, ['^ 9ms !']);
        m.has(success, ['200ms ^ 9ms !']);
        m.flush();
        expect(results).toMatchObject([{ outcome: 'committed' }]);
      }),
    );

    test(
      'a server Retry-After is honoured: syncNow$ ends the client\'s wait after a 500, not the server\'s after a 429',
      marbles((m) => {
        const e429 = m.cold<ApiResponse>('10ms #', undefined, new RateLimitError({ status: 429, retryAfterMs: 3000 }));
        const [fail, success] = [e500(m), ok(m)];
        const { ctx, store } = setup(m, [fail, e429, success], false, { syncNow$: m.hot('100ms s 999ms s') });
        const op = enqueued(store);
        // 100: the 500's wait ends; 110: 429, Retry-After 3 s; 1100 does not end it; 3110: sent.
        m.expect(processOp(op, ctx)).toBeObservable('3120ms |');
        m.has(e429, ['100ms ^ 9ms !']);
        m.has(success, ['3110ms ^ 9ms !']);
      }),
    );

    test(
      'only a wait in progress ends: a "sync now" while the request is out does not shorten the wait after it',
      marbles((m) => {
        const [fail, success] = [e500(m), ok(m)];
        const { ctx, store } = setup(m, [fail, success], false, { syncNow$: m.hot('5ms s 294ms s') });
        const op = enqueued(store);
        m.expect(processOp(op, ctx)).toBeObservable('310ms |');
        m.has(success, ['300ms ^ 9ms !']);
      }),
    );

    test(
      'a stored wait (until 5000) from an earlier session ends on syncNow$ after the client\'s backoff, not after the server\'s Retry-After',
      marbles((m) => {
        const syncNow$ = m.hot('100ms s');
        const own = setup(m, [ok(m)], false, { syncNow$ });
        const server = setup(m, [ok(m)], false, { syncNow$ });
        const a = enqueued(own.store, 'a', { attempts: 1, nextAttemptAt: 5000, lastError: { kind: 'server', status: 500 } });
        const b = enqueued(server.store, 'b', { attempts: 1, nextAttemptAt: 5000, lastError: { kind: 'rateLimited', status: 429, retryAfterMs: 5000 } });
        m.expect(processOp(a, own.ctx)).toBeObservable('110ms |');
        m.expect(processOp(b, server.ctx)).toBeObservable('5010ms |');
      }),
    );

    test(
      'syncNow$ ends the restart wait after storage trouble',
      marbles((m) => {
        const success = ok(m);
        const { ctx, store } = setup(m, [success], false, { syncNow$: m.hot('100ms s') });
        const op = enqueued(store);
        store.failNext('isCompleted');
        // The restart wait would be 500 ms.
        m.expect(processOp(op, ctx)).toBeObservable('110ms |');
        m.has(success, ['100ms ^ 9ms !']);
      }),
    );

    test(
      'a cancel request while the request is out is not claimed; one during the backoff wait is: the op leaves the queue unsent, cancelled is reported, nothing more is sent',
      marbles((m) => {
        const fail = e500(m);
        const early = request('018f0000-0000-7000-8000-00000000000a');
        const other = request('018f0000-0000-7000-8000-0000000000ff');
        const mine = request('018f0000-0000-7000-8000-00000000000a');
        const { ctx, store, results, actions } = setup(m, [fail], false, {
          cancel$: m.hot('5ms e 94ms o 99ms c', { e: early, o: other, c: mine }),
        });
        const op = enqueued(store);
        m.expect(processOp(op, ctx)).toBeObservable('200ms |');
        m.has(fail, ['^ 9ms !']);
        m.flush();
        expect(early.claim).not.toHaveBeenCalled();
        expect(other.claim).not.toHaveBeenCalled();
        expect(mine.claim).toHaveBeenCalledTimes(1);
        expect(results).toEqual([
          expect.objectContaining({ opId: op.id, txToken: 'tx', outcome: 'cancelled', error: { kind: 'server', status: 500 } }),
        ]);
        expect(actions[actions.length - 1]).toEqual({ type: 'settled', opId: op.id });
        expect(store.pendingOps()).toEqual([]);
        expect(store.data.failed.size).toBe(0);
      }),
    );

    test(
      'a claimed cancel whose write fails is written again after the restart wait, and the op is never sent again',
      marbles((m) => {
        const fail = e500(m);
        const mine = request('018f0000-0000-7000-8000-00000000000a');
        const { ctx, store, results } = setup(m, [fail], false, { cancel$: m.hot('200ms c', { c: mine }) });
        const op = enqueued(store);
        store.failNext('fail');
        // 200: the cancel write fails; 700: written after the 500 ms restart wait.
        m.expect(processOp(op, ctx)).toBeObservable('700ms |');
        m.has(fail, ['^ 9ms !']);
        m.flush();
        expect(results).toMatchObject([{ outcome: 'cancelled' }]);
        expect(store.pendingOps()).toEqual([]);
      }),
    );
  });
});
