import { marbles } from 'rxjs-marbles/jest';
import { EngineHarness } from '../support/engine-harness';
import { MemoryStoreData } from '../support/memory-store-port';
import { fail, hang, networkError, ok, raw } from '../support/scripted-transport';
import type { ReconcileDecision } from '../../streams/resolve-conflict';
import type { EngineEvent } from '../../src/engine/sync-engine';
import { createRateLimiter } from '../../src/security/rate-limiter';
import { MAX_TIMER_DELAY_MS } from '../../src/policy/backoff';
import { hostTimerScheduler } from '../support/host-timer-scheduler';

// Times below: the storage lock is acquired at t=50 (claim, 50 ms settle,
// read back); every scripted answer takes 10 ms; random() = 0.5 so full
// jitter gives half the exponential ceiling: 500, 1000, 2000, 4000 … ms.

const sendTimes = (h: EngineHarness) => h.server.requests.map((r) => r.sentAt);
const backoffs = (h: EngineHarness) =>
  h.events.filter((e): e is Extract<EngineEvent, { type: 'backoff' }> => e.type === 'backoff').map((e) => [e.delayMs, e.retryAfter]);

describe('pipeline scenarios (virtual time)', () => {
  test(
    'timeout: the request is aborted at requestTimeoutMs and retried without consuming an attempt',
    marbles((m) => {
      const h = new EngineHarness(m.scheduler, { requestTimeoutMs: 1000 });
      h.server.script(hang(), ok());
      h.enqueue('a');
      h.engine.start();
      h.at(10_000, () => void h.engine.stop());
      m.flush();
      expect(h.server.requests[0]).toMatchObject({ sentAt: 50, abortedAt: 1050 });
      expect(sendTimes(h)).toEqual([50, 1550]);
      expect(h.results.map((r) => r.outcome)).toEqual(['committed']);
      const failed = h.events.find((e) => e.type === 'attemptFailed');
      expect(failed).toMatchObject({ error: { kind: 'timeout' }, durationMs: 1000 });
      const backoff = h.events.find((e) => e.type === 'backoff') as Extract<EngineEvent, { type: 'backoff' }>;
      expect(backoff.op.attempts).toBe(0);
    }),
  );

  test(
    '500 ×3 then success: exponential backoff, attempts persisted before each wait, same idempotency key',
    marbles((m) => {
      const h = new EngineHarness(m.scheduler);
      h.server.script(fail(500), fail(502), fail(503), ok({ done: true }));
      h.enqueue('a');
      const persisted: Array<[number, number | null]> = [];
      h.store.changes$.subscribe((c) => {
        if (c.type === 'updated') persisted.push([c.op.attempts, c.op.nextAttemptAt]);
      });
      h.engine.start();
      h.at(20_000, () => void h.engine.stop());
      m.flush();
      expect(sendTimes(h)).toEqual([50, 560, 1570, 3580]);
      expect(backoffs(h)).toEqual([
        [500, false],
        [1000, false],
        [2000, false],
      ]);
      expect(persisted).toEqual([
        [1, 560],
        [2, 1570],
        [3, 3580],
      ]);
      const keys = new Set(h.server.requests.map((r) => r.request.headers['Idempotency-Key']));
      const traces = new Set(h.server.requests.map((r) => r.request.headers['Trace-Id']));
      expect(keys.size).toBe(1);
      expect(traces.size).toBe(1);
      expect(h.results).toMatchObject([{ outcome: 'committed', data: { done: true } }]);
      // While backing off the status shows when and why.
      expect(h.statuses.some((s) => s.nextAttemptAt === 560 && s.lastError?.status === 500)).toBe(true);
    }),
  );

  test(
    '500 until the budget (5) is exhausted: the op goes to failed_ops as exhausted, the queue moves on',
    marbles((m) => {
      const h = new EngineHarness(m.scheduler);
      h.server.script(fail(500), fail(500), fail(500), fail(500), fail(500), ok());
      h.enqueue('a');
      h.enqueue('b');
      h.engine.start();
      h.at(30_000, () => void h.engine.stop());
      m.flush();
      expect(sendTimes(h)).toEqual([50, 560, 1570, 3580, 7590, 7600]);
      expect(h.sentIds()).toEqual(['a', 'a', 'a', 'a', 'a', 'b']);
      expect(h.results.map((r) => [r.txToken, r.outcome, r.reason])).toEqual([
        ['tx-a', 'failed', 'exhausted'],
        ['tx-b', 'committed', undefined],
      ]);
      const record = h.store.data.failed.values().next().value!;
      expect(record).toMatchObject({ reason: 'exhausted', attempts: 5, error: { kind: 'server', status: 500 } });
      expect(h.eventTypes('failed')).toEqual(['failed']);
    }),
  );

  test(
    '401 → refreshToken() once → the retry with the new token succeeds',
    marbles((m) => {
      const h = new EngineHarness(m.scheduler);
      h.auth.refreshes.push('token-2');
      h.server.script(fail(401), ok());
      h.enqueue('a');
      h.engine.start();
      h.at(5_000, () => void h.engine.stop());
      m.flush();
      expect(h.server.requests.map((r) => r.request.headers.Authorization)).toEqual(['Bearer token-1', 'Bearer token-2']);
      expect(sendTimes(h)).toEqual([50, 60]);
      expect(h.auth.refreshCalls).toBe(1);
      expect(h.eventTypes('attemptFailed', 'tokenRefreshed', 'attemptSucceeded', 'completed')).toEqual([
        'attemptFailed',
        'tokenRefreshed',
        'attemptSucceeded',
        'completed',
      ]);
      expect(h.status.authRequired).toBe(false);
    }),
  );

  test(
    '401 twice → authRequired: the op stays at the head, nothing fails, resumeAuth() continues',
    marbles((m) => {
      const h = new EngineHarness(m.scheduler);
      h.auth.refreshes.push('token-2');
      h.server.script(fail(401), fail(401), ok());
      h.enqueue('a');
      h.enqueue('b');
      h.engine.start();
      h.at(1_000, () => {
        expect(h.status).toMatchObject({ authRequired: true, processing: false, blockedBy: ['authRequired'], pending: 2 });
        expect(h.results).toEqual([]);
        h.auth.current = 'token-3';
        h.engine.resumeAuth();
      });
      h.at(5_000, () => void h.engine.stop());
      m.flush();
      expect(h.sentIds()).toEqual(['a', 'a', 'a', 'b']);
      expect(sendTimes(h)).toEqual([50, 60, 1000, 1010]);
      expect(h.server.requests[2]!.request.headers.Authorization).toBe('Bearer token-3');
      expect(h.eventTypes('authRequired')).toEqual(['authRequired']);
      expect(h.results.map((r) => r.outcome)).toEqual(['committed', 'committed']);
      expect(h.store.data.failed.size).toBe(0);
    }),
  );

  test(
    'a failed refresh → authRequired without a second request',
    marbles((m) => {
      const h = new EngineHarness(m.scheduler);
      h.server.script(fail(401));
      h.enqueue('a');
      h.engine.start();
      h.at(5_000, () => void h.engine.stop());
      m.flush();
      expect(h.server.requests).toHaveLength(1);
      expect(h.auth.refreshCalls).toBe(1);
      expect(h.store.pendingOps()).toHaveLength(1);
      expect(h.eventTypes('authRequired')).toEqual(['authRequired']);
    }),
  );

  test(
    '429 with Retry-After in seconds: waits exactly that long, attempt not consumed',
    marbles((m) => {
      const h = new EngineHarness(m.scheduler);
      h.server.script(fail(429, { headers: { 'Retry-After': '7' } }), ok());
      h.enqueue('a');
      h.engine.start();
      h.at(20_000, () => void h.engine.stop());
      m.flush();
      expect(sendTimes(h)).toEqual([50, 7060]);
      expect(backoffs(h)).toEqual([[7000, true]]);
      const backoff = h.events.find((e) => e.type === 'backoff') as Extract<EngineEvent, { type: 'backoff' }>;
      expect(backoff.op.attempts).toBe(0);
      expect(h.results.map((r) => r.outcome)).toEqual(['committed']);
    }),
  );

  test(
    '429 with Retry-After as an HTTP-date: waits until that date (against the response Date header)',
    marbles((m) => {
      const h = new EngineHarness(m.scheduler);
      // The server's clock says 10:00:00 and asks to come back at 10:00:12.
      h.server.script(
        fail(429, { headers: { Date: 'Fri, 27 Nov 2026 10:00:00 GMT', 'Retry-After': 'Fri, 27 Nov 2026 10:00:12 GMT' } }),
        ok(),
      );
      h.enqueue('a');
      h.engine.start();
      h.at(30_000, () => void h.engine.stop());
      m.flush();
      expect(backoffs(h)).toEqual([[12_000, true]]);
      expect(sendTimes(h)).toEqual([50, 12_060]);
    }),
  );

  test(
    '429 many times never fails the op on its own',
    marbles((m) => {
      const h = new EngineHarness(m.scheduler, { backoff: { maxAttempts: 2 } });
      for (let i = 0; i < 6; i++) h.server.script(fail(429, { headers: { 'Retry-After': '1' } }));
      h.server.script(ok());
      h.enqueue('a');
      h.engine.start();
      h.at(60_000, () => void h.engine.stop());
      m.flush();
      expect(h.server.requests).toHaveLength(7);
      expect(h.results.map((r) => r.outcome)).toEqual(['committed']);
    }),
  );

  test(
    '409 idempotency_key_in_use is transient: retried with the same key, no attempt consumed',
    marbles((m) => {
      const h = new EngineHarness(m.scheduler, { backoff: { maxAttempts: 1 } });
      h.server.script(fail(409, { code: 'idempotency_key_in_use' }), fail(409, { code: 'idempotency_key_in_use' }), ok());
      h.enqueue('a');
      h.engine.start();
      h.at(10_000, () => void h.engine.stop());
      m.flush();
      expect(h.server.requests).toHaveLength(3);
      expect(new Set(h.server.requests.map((r) => r.request.headers['Idempotency-Key'])).size).toBe(1);
      expect(h.results.map((r) => r.outcome)).toEqual(['committed']);
    }),
  );

  describe('409 domain conflict', () => {
    const run = (m: Parameters<Parameters<typeof marbles>[0]>[0], decision?: ReconcileDecision) => {
      const seen: unknown[] = [];
      const changes: string[] = [];
      const h = new EngineHarness(m.scheduler, {
        reconcile:
          decision === undefined
            ? undefined
            : (op, conflict) => {
                seen.push([op.payload, conflict.details]);
                return decision;
              },
      });
      h.server.script(fail(409, { code: 'version_conflict', details: { serverVersion: 3 } }), ok({ merged: true }), ok());
      h.store.changes$.subscribe((c) =>
        changes.push(c.type === 'failed' || c.type === 'discarded' ? `${c.type}:${c.record.reason}` : c.type),
      );
      h.enqueue('a');
      h.enqueue('b');
      h.engine.start();
      h.at(5_000, () => void h.engine.stop());
      m.flush();
      return { h, seen, changes };
    };

    test(
      'default (no reconcile): fail — results$ conflict, op in failed_ops, next op proceeds',
      marbles((m) => {
        const { h } = run(m);
        expect(h.results.map((r) => [r.txToken, r.outcome, r.resolution])).toEqual([
          ['tx-a', 'conflict', 'fail'],
          ['tx-b', 'committed', undefined],
        ]);
        expect(h.results[0]).toMatchObject({ reason: 'conflict', error: { kind: 'conflict', status: 409 } });
        expect([...h.store.data.failed.values()].map((r) => r.reason)).toEqual(['conflict']);
        expect(h.eventTypes('conflict', 'failed')).toEqual(['conflict', 'failed']);
      }),
    );

    test(
      'retry with a new payload: sent again with a NEW idempotency key and the new body',
      marbles((m) => {
        const { h, seen } = run(m, { action: 'retry', payload: { id: 'a', title: 'merged' } });
        expect(seen).toEqual([[{ id: 'a', title: 'title a' }, { serverVersion: 3 }]]);
        const [first, second] = h.server.requests;
        expect(second!.request.headers['Idempotency-Key']).not.toBe(first!.request.headers['Idempotency-Key']);
        expect(second!.request.headers['Trace-Id']).toBe(first!.request.headers['Trace-Id']);
        expect(JSON.parse(second!.request.body!)).toEqual({ id: 'a', title: 'merged' });
        expect(h.results.map((r) => [r.txToken, r.outcome, r.resolution])).toEqual([
          ['tx-a', 'conflict', 'retry'],
          ['tx-a', 'committed', undefined],
          ['tx-b', 'committed', undefined],
        ]);
        expect(h.store.data.failed.size).toBe(0);
        expect(h.store.data.ledger.has(second!.request.headers['Idempotency-Key']!)).toBe(true);
      }),
    );

    test(
      'drop: the op leaves the queue, nothing kept in failed_ops, nothing resent',
      marbles((m) => {
        const { h, changes } = run(m, { action: 'drop' });
        expect(h.sentIds()).toEqual(['a', 'b']);
        // Dead-lettered as 'dropped' and discarded at once, so an optimistic
        // store rolls it back once (from the result), not again on the discard.
        expect(changes.filter((c) => c.includes(':'))).toEqual(['failed:dropped', 'discarded:dropped']);
        expect(h.results.map((r) => [r.txToken, r.outcome, r.resolution])).toEqual([
          ['tx-a', 'conflict', 'drop'],
          ['tx-b', 'committed', undefined],
        ]);
        expect(h.store.data.failed.size).toBe(0);
        expect(h.store.pendingOps()).toEqual([]);
        expect(h.eventTypes('conflict', 'failed')).toEqual(['conflict']);
      }),
    );

    test(
      'fail: like the default, chosen explicitly',
      marbles((m) => {
        const { h, seen } = run(m, { action: 'fail' });
        expect(seen).toHaveLength(1);
        expect(h.results[0]).toMatchObject({ outcome: 'conflict', resolution: 'fail', reason: 'conflict' });
        expect(h.store.data.failed.size).toBe(1);
      }),
    );

    test(
      'a retry payload that fails validation fails the op instead',
      marbles((m) => {
        const { h } = run(m, { action: 'retry', payload: { id: 'a', title: 42 } });
        expect(h.sentIds()).toEqual(['a', 'b']);
        expect(h.results[0]).toMatchObject({ outcome: 'conflict', resolution: 'fail' });
      }),
    );
  });

  test(
    'offline mid-request: the request is aborted, no attempt consumed, resent at once when back online',
    marbles((m) => {
      const h = new EngineHarness(m.scheduler);
      h.server.script(ok({}, 500), ok());
      h.enqueue('a');
      h.engine.start();
      h.at(200, () => h.online$.next(false));
      h.at(200, () => expect(h.status).toMatchObject({ online: false, processing: false, blockedBy: ['offline'] }));
      h.at(3_000, () => h.online$.next(true));
      h.at(10_000, () => void h.engine.stop());
      m.flush();
      expect(h.server.requests[0]).toMatchObject({ sentAt: 50, abortedAt: 200 });
      expect(sendTimes(h)).toEqual([50, 3000]);
      expect(h.store.calls.filter((c) => c.method === 'update')).toEqual([]);
      expect(h.results.map((r) => r.outcome)).toEqual(['committed']);
      expect(h.eventTypes('gate').length).toBeGreaterThanOrEqual(3);
    }),
  );

  test(
    'offline mid-backoff: the wait is dropped; a server-caused wait is still honoured after reconnecting',
    marbles((m) => {
      const h = new EngineHarness(m.scheduler);
      h.server.script(fail(500), ok());
      h.enqueue('a');
      h.engine.start();
      // 500 at t=60 → persisted nextAttemptAt = 560
      h.at(100, () => h.online$.next(false));
      h.at(300, () => h.online$.next(true));
      h.at(10_000, () => void h.engine.stop());
      m.flush();
      expect(sendTimes(h)).toEqual([50, 560]);
      expect(h.results.map((r) => r.outcome)).toEqual(['committed']);
    }),
  );

  test(
    'network errors back off but never consume the budget',
    marbles((m) => {
      const h = new EngineHarness(m.scheduler, { backoff: { maxAttempts: 1 } });
      h.server.script(networkError(), networkError(), networkError(), ok());
      h.enqueue('a');
      h.engine.start();
      h.at(20_000, () => void h.engine.stop());
      m.flush();
      expect(sendTimes(h)).toEqual([50, 560, 1570, 3580]);
      expect(h.results.map((r) => r.outcome)).toEqual(['committed']);
      expect(h.events.filter((e) => e.type === 'attemptFailed').map((e) => (e as { error: { kind: string } }).error.kind)).toEqual([
        'network',
        'network',
        'network',
      ]);
    }),
  );

  test(
    'after a network error, coming back online retries at once instead of finishing the wait',
    marbles((m) => {
      const h = new EngineHarness(m.scheduler);
      h.server.script(networkError(), networkError(), ok());
      h.enqueue('a');
      h.engine.start();
      // network error at 60 → wait 500 (until 560); again at 570 → wait 1000 (until 1570)
      h.at(600, () => h.online$.next(false));
      h.at(700, () => h.online$.next(true));
      h.at(10_000, () => void h.engine.stop());
      m.flush();
      expect(sendTimes(h)).toEqual([50, 560, 700]);
      expect(h.results.map((r) => r.outcome)).toEqual(['committed']);
    }),
  );

  test(
    'enqueue while draining keeps FIFO order',
    marbles((m) => {
      const h = new EngineHarness(m.scheduler, { batchSize: 2 });
      h.server.fallback = ok({}, 100);
      h.enqueue('a');
      h.enqueue('b');
      h.engine.start();
      h.at(120, () => h.enqueue('c'));
      h.at(130, () => h.enqueue('d'));
      h.at(1_000, () => h.enqueue('e'));
      h.at(10_000, () => void h.engine.stop());
      m.flush();
      expect(h.sentIds()).toEqual(['a', 'b', 'c', 'd', 'e']);
      expect(sendTimes(h)).toEqual([50, 150, 250, 350, 1000]);
      // Reads are bounded by the batch size.
      expect(h.store.calls.filter((c) => c.method === 'peek').length).toBeGreaterThanOrEqual(3);
    }),
  );

  test(
    'a corrupt record at the head is quarantined to failed_ops and the next op is sent',
    marbles((m) => {
      const h = new EngineHarness(m.scheduler);
      h.store.putRaw('00000000-0000-7000-8000-000000000000', { schemaVersion: 1, id: 'nope', attempts: 'x' });
      h.enqueue('b');
      h.engine.start();
      h.at(5_000, () => void h.engine.stop());
      m.flush();
      expect(h.sentIds()).toEqual(['b']);
      const [record] = [...h.store.data.failed.values()];
      expect(record).toMatchObject({ reason: 'corrupt', id: '00000000-0000-7000-8000-000000000000' });
      const failed = h.events.find((e) => e.type === 'failed') as Extract<EngineEvent, { type: 'failed' }>;
      expect(failed.record.reason).toBe('corrupt');
      expect(h.status).toMatchObject({ pending: 0, failed: 1 });
    }),
  );

  test(
    'an op whose key is already in the ledger is completed without sending',
    marbles((m) => {
      const h = new EngineHarness(m.scheduler);
      h.enqueue('a');
      const [op] = h.store.pendingOps();
      h.store.data.ledger.set(op!.idempotencyKey, 1);
      h.engine.start();
      h.at(5_000, () => void h.engine.stop());
      m.flush();
      expect(h.server.requests).toEqual([]);
      expect(h.results).toEqual([{ opId: op!.id, txToken: 'tx-a', type: 'todo.create', outcome: 'committed' }]);
      expect(h.events.find((e) => e.type === 'completed')).toMatchObject({ fromLedger: true });
    }),
  );

  test(
    'a stored nextAttemptAt is honoured after a restart (no hammering)',
    marbles((m) => {
      const data = new MemoryStoreData();
      const first = new EngineHarness(m.scheduler, { data });
      first.server.script(fail(503), ok());
      first.enqueue('a');
      first.engine.start();
      // 503 at t=60 → nextAttemptAt = 560; the app is closed at 100.
      first.at(100, () => void first.engine.dispose());
      let second!: EngineHarness;
      first.at(200, () => {
        second = new EngineHarness(m.scheduler, { data });
        second.engine.start();
      });
      first.at(10_000, () => void second.engine.stop());
      m.flush();
      expect(sendTimes(first)).toEqual([50]);
      expect(sendTimes(second)).toEqual([560]);
      expect(second.results.map((r) => r.outcome)).toEqual(['committed']);
    }),
  );

  test.each([
    ['1 h back: capped at capMs (2 min), not an hour of silence', -3_600_000, 120_250],
    ['2 days back: capped at capMs (2 min)', -172_800_000, 120_250],
    ['1 h ahead: due, sent as soon as the lock is held', 3_600_000, 250],
    ['2 days ahead: due, sent as soon as the lock is held', 172_800_000, 250],
  ])(
    'a stored nextAttemptAt after Retry-After: 3, restarted under a wall clock stepped %s',
    (_name, jumpMs, sentAt) =>
      marbles((m) => {
        const data = new MemoryStoreData();
        const first = new EngineHarness(m.scheduler, { data });
        first.server.script(fail(429, { headers: { 'Retry-After': '3' } }), ok());
        first.enqueue('a');
        first.engine.start();
        // 429 at t=60 → nextAttemptAt = 3 060 on the first clock; closed at 100.
        first.at(100, () => void first.engine.dispose());
        let second!: EngineHarness;
        first.at(200, () => {
          second = new EngineHarness(m.scheduler, { data, now: () => m.scheduler.now() + jumpMs });
          second.engine.start();
        });
        first.at(200_000, () => void second.engine.stop());
        m.flush();
        expect(sendTimes(first)).toEqual([50]);
        expect(sendTimes(second)).toEqual([sentAt]);
        expect(second.results.map((r) => r.outcome)).toEqual(['committed']);
      })(),
  );

  test(
    'a storage failure while persisting the backoff does not fail or lose the op',
    marbles((m) => {
      const h = new EngineHarness(m.scheduler);
      h.server.script(fail(500), ok());
      h.enqueue('a');
      h.store.failNext('update');
      h.engine.start();
      h.at(20_000, () => void h.engine.stop());
      m.flush();
      expect(h.results.map((r) => r.outcome)).toEqual(['committed']);
      expect(h.store.data.failed.size).toBe(0);
      expect(h.statuses.some((s) => s.lastError?.kind === 'storage')).toBe(true);
    }),
  );

  test(
    'going offline while the answer is being recorded does not lose the result (no resend either)',
    marbles((m) => {
      // Every store call takes 5 ms: sent at 10, answered at 20, ledger write 20–25.
      const h = new EngineHarness(m.scheduler, { lock: 'manual', storeLatencyMs: 5 });
      h.server.script(ok({ id: 'a' }, 10));
      h.enqueue('a');
      h.at(0, () => h.engine.start());
      h.at(0, () => h.manualLock!.grant());
      h.at(22, () => h.online$.next(false));
      h.at(100, () => h.online$.next(true));
      h.at(1_000, () => void h.engine.stop());
      m.flush();
      expect(h.server.requests).toHaveLength(1);
      expect(h.results).toMatchObject([{ txToken: 'tx-a', outcome: 'committed', data: { id: 'a' } }]);
      expect(h.store.pendingOps()).toEqual([]);
    }),
  );

  test(
    'a 2xx with a malformed body fails the op as malformedResponse',
    marbles((m) => {
      const h = new EngineHarness(m.scheduler);
      h.server.script(raw(200, 'not json'));
      h.enqueue('a');
      h.engine.start();
      h.at(5_000, () => void h.engine.stop());
      m.flush();
      expect(h.results).toMatchObject([{ outcome: 'failed', reason: 'malformedResponse' }]);
    }),
  );

  test(
    'lock lost mid-run: the holder stops at once (request aborted) and emits lockLost',
    marbles((m) => {
      const h = new EngineHarness(m.scheduler, { lock: 'manual' });
      h.server.script(ok({}, 500), ok());
      h.enqueue('a');
      h.engine.start();
      h.at(10, () => h.manualLock!.grant(7));
      h.at(200, () => h.manualLock!.revoke());
      h.at(200, () => expect(h.status).toMatchObject({ lockHeld: false, processing: false, blockedBy: ['lockNotHeld'] }));
      h.at(1_000, () => h.manualLock!.grant(9, true));
      h.at(5_000, () => void h.engine.stop());
      m.flush();
      expect(h.server.requests[0]).toMatchObject({ sentAt: 10, abortedAt: 200 });
      expect(sendTimes(h)).toEqual([10, 1000]);
      expect(h.events.filter((e) => e.type.startsWith('lock'))).toEqual([
        { type: 'lockAcquired', at: 10, fencingToken: 7, takeover: false },
        { type: 'lockLost', at: 200 },
        { type: 'lockAcquired', at: 1000, fencingToken: 9, takeover: true },
        { type: 'lockReleased', at: 5000 },
      ]);
      expect(h.manualLock!.releases).toBe(1);
    }),
  );

  test(
    'two engines on one storage: one processes; when it crashes the other takes over the stale lock and finishes the queue once',
    marbles((m) => {
      const data = new MemoryStoreData();
      const a = new EngineHarness(m.scheduler, { data, lockOptions: { ownerId: 'A' } });
      const b = new EngineHarness(m.scheduler, { data, lockOptions: { ownerId: 'B' } });
      a.server.fallback = ok({}, 400);
      b.server.fallback = ok({}, 400);
      a.enqueue('1');
      a.enqueue('2');
      a.enqueue('3');
      a.engine.start();
      a.at(100, () => b.engine.start());
      // A crashes at 600 while sending op 2: every subscription dies, no release.
      a.at(600, () => a.crash());
      a.at(20_000, () => void b.engine.stop());
      m.flush();
      expect(a.sentIds()).toEqual(['1', '2']);
      expect(a.server.requests[1]).toMatchObject({ sentAt: 450 });
      const takeover = b.events.find((e) => e.type === 'lockAcquired');
      expect(takeover).toMatchObject({ takeover: true, fencingToken: 2 });
      // A's last heartbeat was at 0: stale at 3 000, B polls at 100 + k·1000 → 3 100 + settle.
      expect(takeover!.at).toBe(3150);
      expect(b.sentIds()).toEqual(['2', '3']);
      expect(b.server.requests[0]!.request.headers['Idempotency-Key']).toBe(a.server.requests[1]!.request.headers['Idempotency-Key']);
      expect(data.pending.size).toBe(0);
    }),
  );

  test(
    'a damaged lock record is reported (lockError, status lastError), taken over after staleAfterMs with the next fencing token, and the queue is sent',
    marbles((m) => {
      const h = new EngineHarness(m.scheduler);
      h.store.data.meta.set('processorLock.fence', { fencingToken: 5 });
      h.store.corruptMeta('processorLock');
      h.server.script(ok());
      h.enqueue('a');
      h.engine.start();
      h.at(1_500, () =>
        expect(h.status).toMatchObject({ lockHeld: false, blockedBy: ['lockNotHeld'], lastError: { kind: 'storage', code: 'corrupt' } }),
      );
      h.at(10_000, () => void h.engine.stop());
      m.flush();
      expect(h.events.filter((e) => e.type.startsWith('lock'))).toEqual([
        // Once, though every poll until the takeover reads it.
        { type: 'lockError', at: 0, error: { kind: 'storage', code: 'corrupt' } },
        { type: 'lockAcquired', at: 3050, fencingToken: 6, takeover: true },
        { type: 'lockReleased', at: 10_000 },
      ]);
      expect(sendTimes(h)).toEqual([3050]);
      expect(h.results.map((r) => r.outcome)).toEqual(['committed']);
      expect(h.status.lastError).toBeUndefined();
    }),
  );

  test.each([
    ['1 h', 3_600_000],
    ['2 days', 2 * 24 * 3_600_000],
  ])(
    'the holder crashed, then the wall clock stepped back %s: a new engine takes over staleAfterMs after its first look and sends the rest once',
    (_label, back) =>
      marbles((m) => {
        let skew = 0;
        const now = () => m.scheduler.now() + skew;
        const data = new MemoryStoreData();
        const a = new EngineHarness(m.scheduler, { data, now, lockOptions: { ownerId: 'A' } });
        const b = new EngineHarness(m.scheduler, { data, now, lockOptions: { ownerId: 'B' } });
        a.server.fallback = ok({}, 400);
        b.server.fallback = ok({}, 400);
        a.enqueue('1');
        a.enqueue('2');
        a.engine.start();
        // A is SIGKILLed at 600 while sending op 2; then the clock steps back.
        a.at(600, () => a.crash());
        a.at(700, () => (skew = -back));
        a.at(1_000, () => b.engine.start());
        a.at(20_000, () => void b.engine.stop());
        m.flush();
        expect(a.sentIds()).toEqual(['1', '2']);
        // B looks first at 1 000; A's record has not changed by 4 000: claim, hold at 4 050.
        expect(b.events.find((e) => e.type === 'lockAcquired')).toMatchObject({ takeover: true, fencingToken: 2, at: 4050 - back });
        expect(b.sentIds()).toEqual(['2']);
        expect(b.server.requests[0]).toMatchObject({ sentAt: 4050 });
        expect(data.pending.size).toBe(0);
      })(),
  );

  test(
    'requestHeaders are read after attemptStarted, per attempt, and cannot override the engine headers',
    marbles((m) => {
      const order: string[] = [];
      const h = new EngineHarness(m.scheduler, {
        requestHeaders: (op) => {
          order.push(`headers:${h.events.filter((e) => e.type === 'attemptStarted').length}`);
          return { traceparent: `00-${op.traceId.replace(/-/g, '')}-0000000000000001-01`, 'Idempotency-Key': 'forged' };
        },
      });
      h.server.script(fail(500), ok());
      h.enqueue('a');
      h.engine.start();
      h.at(5_000, () => void h.engine.stop());
      m.flush();
      expect(order).toEqual(['headers:1', 'headers:2']);
      const [op] = h.events.filter((e) => e.type === 'enqueued') as Array<Extract<EngineEvent, { type: 'enqueued' }>>;
      for (const r of h.server.requests) {
        expect(r.request.headers.traceparent).toMatch(/^00-[0-9a-f]{32}-/);
        expect(r.request.headers['Idempotency-Key']).toBe(op!.op.idempotencyKey);
      }
    }),
  );

  test(
    'the client-side rate limit spaces sends once the bucket is empty',
    marbles((m) => {
      const h = new EngineHarness(m.scheduler, { rateLimiter: createRateLimiter({ capacity: 2, refillPerSecond: 1 }, m.scheduler) });
      h.server.fallback = ok({}, 0);
      for (const id of ['a', 'b', 'c', 'd']) h.enqueue(id);
      h.engine.start();
      h.at(10_000, () => void h.engine.stop());
      m.flush();
      expect(h.sentIds()).toEqual(['a', 'b', 'c', 'd']);
      expect(sendTimes(h)).toEqual([50, 50, 1050, 2050]);
    }),
  );

  test(
    'dispose() stops everything; enqueue is refused after it',
    marbles((m) => {
      const h = new EngineHarness(m.scheduler);
      h.engine.start();
      h.at(100, () => void h.engine.dispose());
      m.flush();
      expect(h.eventTypes('lockAcquired', 'lockReleased')).toEqual(['lockAcquired', 'lockReleased']);
      return h.engine.enqueue({ type: 'todo.create', payload: { id: 'x', title: 'y' } }).then(
        () => {
          throw new Error('expected a rejection');
        },
        (err: unknown) => expect(err).toMatchObject({ kind: 'validation' }),
      );
    }),
  );

  test(
    'an op another process appended to the same storage is picked up by the idle holder within idlePollMs',
    marbles((m) => {
      const data = new MemoryStoreData();
      const holder = new EngineHarness(m.scheduler, { data, idlePollMs: 2000, lockOptions: { ownerId: 'A' } });
      const other = new EngineHarness(m.scheduler, { data, lockOptions: { ownerId: 'B' } });
      holder.engine.start();
      other.engine.start(); // waits: A holds the lock
      // B's store instance has its own change feed: A never hears of this append.
      holder.at(3_000, () => other.enqueue('x'));
      holder.at(10_000, () => {
        void holder.engine.stop();
        void other.engine.stop();
      });
      m.flush();
      expect(other.server.requests).toEqual([]);
      expect(holder.sentIds()).toEqual(['x']);
      // The gate opened at 50: idle reads at 2 050, 4 050.
      expect(holder.server.requests[0]!.sentAt).toBe(4050);
    }),
  );

  describe('power constraints', () => {
    test(
      'power saving stretches backoff waits by the factor',
      marbles((m) => {
        const h = new EngineHarness(m.scheduler, { powerSavingBackoffFactor: 3 });
        h.constraints$.next({ powerSaving: true, visible: true });
        h.server.script(fail(500), ok());
        h.enqueue('a');
        h.engine.start();
        h.at(10_000, () => void h.engine.stop());
        m.flush();
        expect(backoffs(h)).toEqual([[1500, false]]);
        expect(sendTimes(h)).toEqual([50, 1560]);
      }),
    );

    test.each<[string, { capMs?: number; maxRetryAfterMs?: number }, number, number]>([
      ['default policy, factor 1e7: the policy maximum, 1 h', {}, 1e7, 3_600_000],
      ['the most extreme policy and factor validation accepts: 2^31 − 1 ms', { capMs: MAX_TIMER_DELAY_MS, maxRetryAfterMs: MAX_TIMER_DELAY_MS }, Number.MAX_VALUE, MAX_TIMER_DELAY_MS],
    ])(
      'Retry-After: 1000000000000 under power saving (%s) is waited out, not overflowed into a resend at once',
      (_name, backoff, factor, waitMs) =>
        marbles((m) => {
          // Host timers: a delay above 2^31 − 1 ms fires after 1 ms. Long
          // heartbeats keep the virtual run short; the lock is taken at 50.
          const h = new EngineHarness(hostTimerScheduler(m.scheduler), {
            backoff,
            powerSavingBackoffFactor: factor,
            lockOptions: { heartbeatMs: 1e9, staleAfterMs: 2e9 },
          });
          h.constraints$.next({ powerSaving: true, visible: true });
          h.server.script(fail(429, { headers: { 'Retry-After': '1000000000000' } }), ok());
          h.enqueue('a');
          h.engine.start();
          h.at(1_000, () => expect(h.status).toMatchObject({ nextAttemptAt: 60 + waitMs, lastError: { kind: 'rateLimited' } }));
          m.scheduler.schedule(() => void h.engine.stop(), 60 + waitMs + 1_000);
          m.flush();
          expect(sendTimes(h)).toEqual([50, 60 + waitMs]);
          expect(backoffs(h)).toEqual([[waitMs, true]]);
          expect(h.results.map((r) => r.outcome)).toEqual(['committed']);
        })(),
    );

    test(
      'power saving while hidden pauses processing (aborting the request) and shows why',
      marbles((m) => {
        const h = new EngineHarness(m.scheduler);
        h.server.script(ok({}, 500), ok());
        h.enqueue('a');
        h.engine.start();
        h.at(100, () => h.constraints$.next({ powerSaving: true, visible: false }));
        h.at(100, () => expect(h.status).toMatchObject({ processing: false, blockedBy: ['powerSaving', 'hidden'] }));
        h.at(2_000, () => h.constraints$.next({ powerSaving: true, visible: true }));
        h.at(10_000, () => void h.engine.stop());
        m.flush();
        expect(h.server.requests[0]).toMatchObject({ abortedAt: 100 });
        expect(sendTimes(h)).toEqual([50, 2000]);
      }),
    );
  });
});
