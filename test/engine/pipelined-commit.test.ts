import { marbles } from 'rxjs-marbles/jest';
import { EngineHarness } from '../support/engine-harness';
import { hang, ok } from '../support/scripted-transport';
import type { EngineEvent } from '../../src/engine/sync-engine';

// A commit (ledger write + removal) takes 30 ms here, every other store call
// is synchronous, every answer takes 10 ms: the next op's request goes out
// while the previous op's commit is still being written.

const enqueuedId = (h: EngineHarness, id: string) =>
  h.events
    .filter((e): e is Extract<EngineEvent, { type: 'enqueued' }> => e.type === 'enqueued')
    .find((e) => (e.op.payload as { id: string }).id === id)?.op.id;
const sendTimes = (h: EngineHarness) => h.server.requests.map((r) => r.sentAt);
const keys = (h: EngineHarness) => h.server.requests.map((r) => r.request.headers['Idempotency-Key']);
const completedAt = (h: EngineHarness) =>
  h.events.filter((e): e is Extract<EngineEvent, { type: 'completed' }> => e.type === 'completed').map((e) => [(e.op.payload as { id: string }).id, e.at]);

function harness(m: Parameters<Parameters<typeof marbles>[0]>[0]) {
  const h = new EngineHarness(m.scheduler, { lock: 'manual', storeLatencyMs: { complete: 30 } });
  h.at(0, () => {
    h.engine.start();
    h.manualLock!.grant();
  });
  return h;
}

describe('pipelined commit (virtual time)', () => {
  test(
    'the next op is sent while the previous commit is written; results stay in FIFO order and land after their commit',
    marbles((m) => {
      const h = harness(m);
      h.server.script(ok({ id: 'a' }), ok({ id: 'b' }), ok({ id: 'c' }));
      for (const id of ['a', 'b', 'c']) h.enqueue(id);
      const resultTimes: Array<[string, number]> = [];
      h.engine.results$.subscribe((r) => resultTimes.push([r.txToken ?? '', m.scheduler.now()]));
      const inFlight: Array<[number, string | undefined]> = [];
      for (const t of [5, 15, 25, 99, 101]) h.at(t, () => inFlight.push([t, h.status.inFlight]));
      h.at(1_000, () => void h.engine.stop());
      m.flush();

      // One request at a time, each sent as soon as the previous one answered.
      expect(sendTimes(h)).toEqual([0, 10, 20]);
      // Commits one at a time, in order, each 30 ms.
      expect(completedAt(h)).toEqual([
        ['a', 40],
        ['b', 70],
        ['c', 100],
      ]);
      expect(resultTimes).toEqual([
        ['tx-a', 40],
        ['tx-b', 70],
        ['tx-c', 100],
      ]);
      expect(h.results.map((r) => r.outcome)).toEqual(['committed', 'committed', 'committed']);
      // `inFlight` follows the newest op sent until it left the queue; an
      // earlier op's commit landing meanwhile does not clear it.
      const opId = (x: string) => enqueuedId(h, x);
      expect(inFlight).toEqual([
        [5, opId('a')],
        [15, opId('b')],
        [25, opId('c')],
        [99, opId('c')],
        [101, undefined],
      ]);
      expect(h.store.pendingOps()).toEqual([]);
      expect(h.store.data.ledger.size).toBe(3);
      // Idle (and the counts resynchronised) only once every commit landed.
      expect(h.status).toMatchObject({ pending: 0, failed: 0 });
      expect(h.status.lastError).toBeUndefined();
    }),
  );

  test(
    'a failed commit starts over from the head: the op and the one sent behind it are resent with the same keys, each committed once, in order',
    marbles((m) => {
      const h = harness(m);
      h.store.failNext('complete');
      h.server.script(ok({ id: 'a' }), ok({ id: 'b' }), ok({ id: 'a' }), ok({ id: 'b' }));
      h.enqueue('a');
      h.enqueue('b');
      h.at(5_000, () => void h.engine.stop());
      m.flush();

      // a's commit fails at 40 (b was answered at 20, its commit queued
      // behind a's and dropped); the pass starts over after storageRetryMs.
      expect(sendTimes(h)).toEqual([0, 10, 1040, 1050]);
      const [ka, kb] = keys(h);
      expect(keys(h)).toEqual([ka, kb, ka, kb]);
      expect(h.results.map((r) => [r.txToken, r.outcome])).toEqual([
        ['tx-a', 'committed'],
        ['tx-b', 'committed'],
      ]);
      expect(h.statuses.some((s) => s.lastError?.kind === 'storage')).toBe(true);
      expect(h.status.lastError).toBeUndefined();
      expect(h.store.pendingOps()).toEqual([]);
      expect(h.store.data.ledger.size).toBe(2);
    }),
  );

  test(
    'going offline while a commit is written and the next op is in flight: the commit lands, only the aborted op is resent',
    marbles((m) => {
      const h = harness(m);
      h.server.script(ok({ id: 'a' }), hang(), ok({ id: 'b' }));
      h.enqueue('a');
      h.enqueue('b');
      h.at(15, () => h.online$.next(false));
      h.at(100, () => h.online$.next(true));
      h.at(1_000, () => void h.engine.stop());
      m.flush();

      expect(h.server.requests[1]).toMatchObject({ sentAt: 10, abortedAt: 15 });
      expect(sendTimes(h)).toEqual([0, 10, 100]);
      expect(completedAt(h)).toEqual([
        ['a', 40],
        ['b', 140],
      ]);
      expect(h.results.map((r) => [r.txToken, r.outcome])).toEqual([
        ['tx-a', 'committed'],
        ['tx-b', 'committed'],
      ]);
      expect(h.store.pendingOps()).toEqual([]);
    }),
  );

  test(
    'stop() lets a commit being written land (with its result) before it releases the lock',
    marbles((m) => {
      const h = harness(m);
      h.server.script(ok({ id: 'a' }));
      h.enqueue('a');
      h.at(12, () => void h.engine.stop());
      m.flush();

      expect(h.eventTypes('completed', 'lockReleased')).toEqual(['completed', 'lockReleased']);
      expect(h.events.find((e) => e.type === 'lockReleased')?.at).toBe(40);
      expect(h.results.map((r) => r.outcome)).toEqual(['committed']);
      expect(h.manualLock!.releases).toBe(1);
    }),
  );
});
