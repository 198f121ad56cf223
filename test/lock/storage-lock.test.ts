import { marbles } from 'rxjs-marbles/jest';
import type { Subscription } from 'rxjs';
import { createStorageLock, type LockRecord } from '../../src/lock/storage-lock';
import type { LockState } from '../../src/lock/processor-lock';
import { MemoryStoreData, MemoryStorePort } from '../support/memory-store-port';

const opts = { heartbeatMs: 1000, staleAfterMs: 3000, settleMs: 50 };

describe('createStorageLock (virtual time)', () => {
  test(
    'acquires a free lock after write-settle-read-back, renews every heartbeat and releases',
    marbles((m) => {
      const store = new MemoryStorePort({ scheduler: m.scheduler });
      const lock = createStorageLock(store, { ...opts, ownerId: 'A', scheduler: m.scheduler });
      const seen: Array<[number, LockState]> = [];
      let sub!: Subscription;
      m.scheduler.schedule(() => {
        sub = lock.hold().subscribe((s) => seen.push([m.scheduler.now(), s]));
      });
      m.scheduler.schedule(() => {
        sub.unsubscribe();
        lock.release().subscribe((r) => seen.push([m.scheduler.now(), { held: false, lost: !r }]));
      }, 3500);
      m.flush();
      expect(seen).toEqual([
        [50, { held: true, fencingToken: 1, takeover: false }],
        [3500, { held: false, lost: false }], // released: true
      ]);
      expect(store.data.meta.get('processorLock')).toEqual({ owner: 'A', fencingToken: 1, heartbeatAt: 3500, released: true });
      const writes = store.calls.filter((c) => c.method === 'writeMeta').map((c) => c.at);
      expect(writes).toEqual([0, 1000, 2000, 3000, 3500]);
    }),
  );

  test(
    'a contender waits while the holder heartbeats; after a crash (no release) it takes over within staleAfterMs + heartbeatMs',
    marbles((m) => {
      const data = new MemoryStoreData();
      const a = createStorageLock(new MemoryStorePort({ scheduler: m.scheduler }, data), { ...opts, ownerId: 'A', scheduler: m.scheduler });
      const b = createStorageLock(new MemoryStorePort({ scheduler: m.scheduler }, data), { ...opts, ownerId: 'B', scheduler: m.scheduler });
      const seenA: Array<[number, LockState]> = [];
      const seenB: Array<[number, LockState]> = [];
      let subA!: Subscription;
      let subB!: Subscription;
      m.scheduler.schedule(() => {
        subA = a.hold().subscribe((s) => seenA.push([m.scheduler.now(), s]));
      });
      m.scheduler.schedule(() => {
        subB = b.hold().subscribe((s) => seenB.push([m.scheduler.now(), s]));
      }, 500);
      // A crashes at 2 200 (last heartbeat at 2 000): no release.
      m.scheduler.schedule(() => subA.unsubscribe(), 2200);
      m.scheduler.schedule(() => subB.unsubscribe(), 9000);
      m.flush();
      expect(seenA).toEqual([[50, { held: true, fencingToken: 1, takeover: false }]]);
      // Stale from 5 000; B polls at 500 + k·1000 → claims at 5 500, holds at 5 550.
      expect(seenB).toEqual([[5550, { held: true, fencingToken: 2, takeover: true }]]);
    }),
  );

  test(
    'a holder that finds another owner on renewal reports the loss at once',
    marbles((m) => {
      const store = new MemoryStorePort({ scheduler: m.scheduler });
      const lock = createStorageLock(store, { ...opts, ownerId: 'A', scheduler: m.scheduler });
      const seen: Array<[number, LockState]> = [];
      let sub!: Subscription;
      m.scheduler.schedule(() => {
        sub = lock.hold().subscribe((s) => seen.push([m.scheduler.now(), s]));
      });
      m.scheduler.schedule(() => {
        const theirs: LockRecord = { owner: 'B', fencingToken: 9, heartbeatAt: m.scheduler.now() };
        store.data.meta.set('processorLock', theirs);
      }, 1500);
      m.scheduler.schedule(() => sub.unsubscribe(), 2500);
      m.flush();
      expect(seen).toEqual([
        [50, { held: true, fencingToken: 1, takeover: false }],
        [2000, { held: false, lost: true }],
      ]);
      // It did not overwrite the new owner's record.
      expect(store.data.meta.get('processorLock')).toMatchObject({ owner: 'B', fencingToken: 9 });
    }),
  );

  test(
    'two contenders racing on slow storage: exactly one ends up holding the lock',
    marbles((m) => {
      const data = new MemoryStoreData();
      // Every storage call takes 20 ms: both read "free" before either writes.
      const mk = (id: string) =>
        createStorageLock(new MemoryStorePort({ scheduler: m.scheduler, latencyMs: 20 }, data), {
          ...opts,
          ownerId: id,
          scheduler: m.scheduler,
        });
      const a = mk('A');
      const b = mk('B');
      const held = { A: false, B: false };
      const both: number[] = [];
      const subs: Subscription[] = [];
      m.scheduler.schedule(() => {
        subs.push(a.hold().subscribe((s) => (held.A = s.held)));
        subs.push(b.hold().subscribe((s) => (held.B = s.held)));
      });
      for (let t = 0; t < 8000; t += 10) {
        m.scheduler.schedule(() => {
          if (held.A && held.B) both.push(m.scheduler.now());
        }, t);
      }
      m.scheduler.schedule(() => subs.forEach((s) => s.unsubscribe()), 8000);
      m.flush();
      expect(both).toEqual([]);
      expect(held.A !== held.B).toBe(true);
      expect(data.meta.get('processorLock')).toMatchObject({ owner: held.A ? 'A' : 'B' });
    }),
  );

  test(
    'a holder whose renewals were late by a whole stale period declares the lock lost first',
    marbles((m) => {
      let skew = 0;
      const store = new MemoryStorePort({ scheduler: m.scheduler });
      const lock = createStorageLock(store, { ...opts, ownerId: 'A', scheduler: m.scheduler, now: () => m.scheduler.now() + skew });
      const seen: LockState[] = [];
      let sub!: Subscription;
      m.scheduler.schedule(() => {
        sub = lock.hold().subscribe((s) => seen.push(s));
      });
      // The process was frozen: the clock jumped 5 s between two heartbeats.
      m.scheduler.schedule(() => (skew = 5000), 1500);
      m.scheduler.schedule(() => sub.unsubscribe(), 2500);
      m.flush();
      expect(seen).toEqual([
        { held: true, fencingToken: 1, takeover: false },
        { held: false, lost: true },
      ]);
    }),
  );

  test('refuses timing where a live holder could look stale', () => {
    expect(() => createStorageLock(new MemoryStorePort(), { heartbeatMs: 1000, staleAfterMs: 1000 })).toThrow(
      expect.objectContaining({ reason: 'invalidOptions' }),
    );
  });
});
