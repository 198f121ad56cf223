import { marbles } from 'rxjs-marbles/jest';
import type { EngineEvent } from '../../src/engine/sync-engine';
import { EngineHarness } from '../support/engine-harness';
import { MemoryStoreData } from '../support/memory-store-port';
import { MemoryWakeBus } from '../support/memory-wake-bus';
import { fail, ok } from '../support/scripted-transport';

// Two engines on one storage (shared MemoryStoreData; each has its own store
// instance, so its own change feed). A is started first and holds the lock
// from t=50; B waits. Every scripted answer takes 10 ms. No idle polling
// (idlePollMs 0) unless said: what is sent below is sent because of a wake
// or of the lock being acquired.

const lockAcquired = (h: EngineHarness) =>
  h.events.filter((e): e is Extract<EngineEvent, { type: 'lockAcquired' }> => e.type === 'lockAcquired');

describe('engines on one storage: waking the holder (virtual time)', () => {
  test(
    "another engine's append wakes the idle holder through the wake port at once, without polling",
    marbles((m) => {
      const data = new MemoryStoreData();
      const bus = new MemoryWakeBus(m.scheduler);
      const a = new EngineHarness(m.scheduler, { data, wake: bus.port(), lockOptions: { ownerId: 'A' } });
      const b = new EngineHarness(m.scheduler, { data, wake: bus.port(), lockOptions: { ownerId: 'B' } });
      a.server.fallback = ok();
      b.server.fallback = ok();
      a.engine.start();
      b.engine.start();
      // The holder's own append: its change feed wakes it; its post reaches B, whose gate is closed.
      a.at(1_000, () => a.enqueue('a'));
      a.at(3_000, () => {
        b.enqueue('x');
        b.enqueue('y');
      });
      a.at(10_000, () => {
        void a.engine.dispose();
        void b.engine.dispose();
      });
      m.flush();
      expect(a.sentIds()).toEqual(['a', 'x', 'y']);
      expect(a.server.requests.map((r) => r.sentAt)).toEqual([1000, 3000, 3010]);
      expect(b.server.requests).toEqual([]);
      expect(lockAcquired(b)).toEqual([]);
      expect(a.results.map((r) => [r.txToken, r.outcome])).toEqual([
        ['tx-a', 'committed'],
        ['tx-x', 'committed'],
        ['tx-y', 'committed'],
      ]);
      // One post per append, each delivered to the other engine only.
      expect(bus.posts).toEqual([1, 2]);
      expect(bus.delivered).toEqual([2, 1]);
      expect(data.pending.size).toBe(0);
      // dispose() closes the ports (after releasing the lock).
      return Promise.all([a.engine.dispose(), b.engine.dispose()]).then(() => expect(bus.closed).toEqual([true, true]));
    }),
  );

  test(
    'a failed op retried from another engine is resent by the holder at once',
    marbles((m) => {
      const data = new MemoryStoreData();
      const bus = new MemoryWakeBus(m.scheduler);
      const a = new EngineHarness(m.scheduler, { data, wake: bus.port(), lockOptions: { ownerId: 'A' } });
      const b = new EngineHarness(m.scheduler, { data, wake: bus.port(), lockOptions: { ownerId: 'B' } });
      a.server.script(fail(400), ok());
      a.enqueue('r');
      a.engine.start();
      b.engine.start();
      a.at(5_000, () => {
        const [record] = [...data.failed.values()];
        void b.engine.failedOps.retry(record!.id);
      });
      a.at(10_000, () => {
        void a.engine.stop();
        void b.engine.stop();
      });
      m.flush();
      expect(a.server.requests.map((r) => r.sentAt)).toEqual([50, 5000]);
      expect(a.results.map((r) => r.outcome)).toEqual(['failed', 'committed']);
      expect(b.server.requests).toEqual([]);
      expect(data.failed.size).toBe(0);
      expect(data.pending.size).toBe(0);
    }),
  );

  test(
    'no wake, no poll: a new lock holder reads the queue the moment it acquires the lock',
    marbles((m) => {
      const data = new MemoryStoreData();
      const a = new EngineHarness(m.scheduler, { data, lockOptions: { ownerId: 'A' } });
      const b = new EngineHarness(m.scheduler, { data, lockOptions: { ownerId: 'B' } });
      a.server.fallback = ok();
      b.server.fallback = ok();
      a.engine.start();
      b.engine.start();
      // B's appends are on B's feed only: A (no wake port, no poll) never sees them.
      b.at(1_000, () => {
        b.enqueue('x');
        b.enqueue('y');
      });
      a.at(3_000, () => void a.engine.stop()); // releases the lock
      a.at(10_000, () => void b.engine.stop());
      m.flush();
      expect(a.server.requests).toEqual([]);
      const [acquired] = lockAcquired(b);
      expect(acquired).toMatchObject({ takeover: false });
      expect(acquired!.at).toBeGreaterThan(3000);
      expect(b.sentIds()).toEqual(['x', 'y']);
      expect(b.server.requests[0]!.sentAt).toBe(acquired!.at);
      expect(data.pending.size).toBe(0);
    }),
  );
});
