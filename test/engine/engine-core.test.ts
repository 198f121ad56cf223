import { marbles } from 'rxjs-marbles/jest';
import { EngineHarness } from '../support/engine-harness';
import { fail, ok } from '../support/scripted-transport';

describe('engine core (virtual time)', () => {
  test(
    'start acquires the lock, opens the gate and commits ops in FIFO order with the same headers on every request',
    marbles((m) => {
      const h = new EngineHarness(m.scheduler);
      h.server.script(ok({ id: 'a' }), ok({ id: 'b' }));
      h.enqueue('a');
      h.enqueue('b');
      expect(h.status).toMatchObject({ pending: 2, processing: false, blockedBy: ['stopped', 'lockNotHeld'] });
      h.at(0, () => h.engine.start());
      h.at(5_000, () => void h.engine.stop());
      m.flush();

      expect(h.sentIds()).toEqual(['a', 'b']);
      // settle 50 ms, then 10 ms per answer
      expect(h.server.requests.map((r) => r.sentAt)).toEqual([50, 60]);
      const [first] = h.server.requests;
      expect(first!.request.headers).toMatchObject({
        Authorization: 'Bearer token-1',
        'Content-Type': 'application/json',
      });
      expect(first!.request.headers['Idempotency-Key']).toMatch(/^[0-9a-f-]{36}$/);
      expect(first!.request.headers['Trace-Id']).toMatch(/^[0-9a-f-]{36}$/);
      expect(first!.request.url).toBe('https://api.test/todos');
      expect(h.results.map((r) => [r.txToken, r.outcome, r.data])).toEqual([
        ['tx-a', 'committed', { id: 'a' }],
        ['tx-b', 'committed', { id: 'b' }],
      ]);
      expect(h.store.pendingOps()).toEqual([]);
      expect(h.store.data.ledger.size).toBe(2);
      expect(h.eventTypes()).toEqual([
        'enqueued',
        'enqueued',
        'gate',
        'lockAcquired',
        'gate',
        'attemptStarted',
        'attemptSucceeded',
        // a's commit starts in the task after its answer: b is sent first.
        'attemptStarted',
        'completed',
        'attemptSucceeded',
        'completed',
        'gate', // stopped
        'gate', // stopped, lockNotHeld
        'lockReleased',
      ]);
      expect(h.status).toEqual({
        online: true,
        lockHeld: false,
        processing: false,
        authRequired: false,
        pending: 0,
        failed: 0,
        // Every op committed and its result emitted.
        synced: true,
        blockedBy: ['stopped', 'lockNotHeld'],
      });
    }),
  );

  test(
    '400 moves the op to failed_ops with a results$ failure and the next op still commits',
    marbles((m) => {
      const h = new EngineHarness(m.scheduler);
      h.server.script(fail(400, { code: 'bad_title' }), ok());
      h.enqueue('a');
      h.enqueue('b');
      h.at(0, () => h.engine.start());
      h.at(5_000, () => void h.engine.stop());
      m.flush();
      expect(h.results.map((r) => [r.txToken, r.outcome])).toEqual([
        ['tx-a', 'failed'],
        ['tx-b', 'committed'],
      ]);
      expect(h.results[0]).toMatchObject({
        reason: 'permanent',
        error: { kind: 'permanent', status: 400, code: 'bad_title' },
        message: 'The server rejected this change. It was not saved.',
      });
      expect([...h.store.data.failed.values()].map((r) => [r.op?.txToken, r.reason])).toEqual([['tx-a', 'permanent']]);
      expect(h.status).toMatchObject({ pending: 0, failed: 1 });
    }),
  );

  describe('syncNow()', () => {
    test(
      'ends the head op\'s 60 s backoff wait: sent at once; a second failure waits its backoff again',
      marbles((m) => {
        // Full jitter with random 0.5: 60 s after the first failure, 120 s after the second.
        const h = new EngineHarness(m.scheduler, { backoff: { baseMs: 120_000, capMs: 240_000 } });
        h.server.script(fail(503), fail(503), ok());
        h.enqueue('a');
        h.engine.start();
        h.at(1_000, () => h.engine.syncNow());
        h.at(400_000, () => void h.engine.stop());
        m.flush();
        expect(h.server.requests.map((r) => r.sentAt)).toEqual([50, 1_000, 121_010]);
        expect(h.results.map((r) => r.outcome)).toEqual(['committed']);
      }),
    );

    test(
      'wakes an idle drain: an op another engine appended to the same storage is sent at once, not at the next idle poll',
      marbles((m) => {
        const holder = new EngineHarness(m.scheduler, { idlePollMs: 60_000 });
        const other = new EngineHarness(m.scheduler, { data: holder.store.data });
        holder.engine.start();
        holder.at(1_000, () => other.enqueue('x')); // not on the holder's change feed
        holder.at(2_000, () => holder.engine.syncNow());
        holder.at(100_000, () => void holder.engine.stop());
        m.flush();
        expect(holder.server.requests.map((r) => r.sentAt)).toEqual([2_000]);
      }),
    );

    test(
      'does nothing while the gate is closed (stopped): nothing is sent',
      marbles((m) => {
        const h = new EngineHarness(m.scheduler);
        h.enqueue('a');
        h.at(10, () => h.engine.syncNow());
        m.flush();
        expect(h.server.requests).toEqual([]);
      }),
    );
  });
});

