import { marbles } from 'rxjs-marbles/jest';
import type { Subscription } from 'rxjs';
import { createStorageLock, type LockRecord } from '../../src/lock/storage-lock';
import type { LockState } from '../../src/lock/processor-lock';
import { MemoryStoreData, MemoryStorePort } from '../support/memory-store-port';
import { throwError } from 'rxjs';
import { StorageError } from '../../src/errors/sync-error';
import type { MetaPort } from '../../src/lock/meta-port';

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
      expect(store.data.meta.get('processorLock')).toEqual({ owner: 'A', fencingToken: 1, heartbeatAt: 3500, beat: 4, released: true });
      expect(store.data.meta.get('processorLock.fence')).toEqual({ fencingToken: 1 });
      // The claim writes the fence record, then the lock record.
      const writes = store.calls.filter((c) => c.method === 'writeMeta').map((c) => c.at);
      expect(writes).toEqual([0, 0, 1000, 2000, 3000, 3500]);
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
      let frozen = 0;
      const store = new MemoryStorePort({ scheduler: m.scheduler });
      const lock = createStorageLock(store, { ...opts, ownerId: 'A', scheduler: m.scheduler, monotonicNow: () => m.scheduler.now() + frozen });
      const seen: LockState[] = [];
      let sub!: Subscription;
      m.scheduler.schedule(() => {
        sub = lock.hold().subscribe((s) => seen.push(s));
      });
      // The process was frozen: 5 s passed on its monotonic clock between two heartbeats.
      m.scheduler.schedule(() => (frozen = 5000), 1500);
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

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const CORRUPT = { kind: 'storage', code: 'corrupt' };

describe('createStorageLock: wall-clock steps (staleness is judged on the contender’s monotonic clock)', () => {
  test.each([
    ['+1 h', HOUR],
    ['−1 h', -HOUR],
    ['+2 days', 2 * DAY],
    ['−2 days', -2 * DAY],
  ])(
    'clock steps %s twice, while the holder lives and after it crashed: it keeps the lock while alive, then the contender takes over within staleAfterMs + heartbeatMs + settleMs',
    (_label, jump) =>
      marbles((m) => {
        let skew = 0;
        const now = () => m.scheduler.now() + skew;
        const data = new MemoryStoreData();
        const mk = (id: string) =>
          createStorageLock(new MemoryStorePort({ scheduler: m.scheduler }, data), { ...opts, ownerId: id, scheduler: m.scheduler, now });
        const a = mk('A');
        const b = mk('B');
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
        // The machine's wall clock steps (NTP, manual change, VM resume): both contenders see it.
        m.scheduler.schedule(() => (skew = jump), 2200);
        // A crashes at 10 200 (last heartbeat at 10 000): no release.
        m.scheduler.schedule(() => subA.unsubscribe(), 10_200);
        // …and the clock steps again: the dead holder's stamp now looks `jump` in the future or past.
        m.scheduler.schedule(() => (skew = 2 * jump), 10_300);
        m.scheduler.schedule(() => subB.unsubscribe(), 20_000);
        m.flush();
        expect(seenA).toEqual([[50, { held: true, fencingToken: 1, takeover: false }]]);
        // B sees A's last beat at 10 500; unchanged for 3 000 → claims at 13 500, holds at 13 550.
        expect(seenB).toEqual([[13_550, { held: true, fencingToken: 2, takeover: true }]]);
      })(),
  );

  test.each([
    ['1 h ahead (clock stepped back since)', HOUR],
    ['2 days ahead', 2 * DAY],
    ['1 h old', -HOUR],
    ['2 days old', -2 * DAY],
  ])(
    'a new contender meets a dead holder’s record stamped %s: it takes over staleAfterMs after its first look, whatever the stamp says',
    (_label, offset) =>
      marbles((m) => {
        const store = new MemoryStorePort({ scheduler: m.scheduler });
        store.data.meta.set('processorLock', { owner: 'Z', fencingToken: 3, heartbeatAt: 1_700_000_000_000 + offset, beat: 12 });
        const now = () => 1_700_000_000_000 + m.scheduler.now();
        const lock = createStorageLock(store, { ...opts, ownerId: 'C', scheduler: m.scheduler, now });
        const seen: Array<[number, LockState]> = [];
        let sub!: Subscription;
        m.scheduler.schedule(() => {
          sub = lock.hold().subscribe((s) => seen.push([m.scheduler.now(), s]));
        });
        m.scheduler.schedule(() => sub.unsubscribe(), 30_000);
        m.flush();
        expect(seen).toEqual([[3050, { held: true, fencingToken: 4, takeover: true }]]);
      })(),
  );
});

describe('createStorageLock: an unreadable lock record is reported and recovered from', () => {
  const damages: Array<[string, (s: MemoryStorePort) => void]> = [
    ['it fails to decrypt or decode', (s) => s.corruptMeta('processorLock')],
    ['it decodes to the wrong shape', (s) => s.data.meta.set('processorLock', { owner: 42 })],
  ];

  test.each(damages)(
    'a new contender meets a lock record that %s: reported once, taken over after staleAfterMs, token above the fence record',
    (_label, damage) =>
      marbles((m) => {
        const store = new MemoryStorePort({ scheduler: m.scheduler });
        store.data.meta.set('processorLock.fence', { fencingToken: 7 });
        damage(store);
        const lock = createStorageLock(store, { ...opts, ownerId: 'B', scheduler: m.scheduler });
        const seen: Array<[number, LockState]> = [];
        let sub!: Subscription;
        m.scheduler.schedule(() => {
          sub = lock.hold().subscribe((s) => seen.push([m.scheduler.now(), s]));
        });
        m.scheduler.schedule(() => sub.unsubscribe(), 10_000);
        m.flush();
        expect(seen).toEqual([
          [0, { held: false, lost: false, error: CORRUPT }],
          // Unreadable at 0, 1 000, 2 000, 3 000: no readable heartbeat for 3 000 → claim.
          [3050, { held: true, fencingToken: 8, takeover: true }],
        ]);
        expect(store.data.meta.get('processorLock')).toMatchObject({ owner: 'B', fencingToken: 8 });
        expect(store.data.meta.get('processorLock.fence')).toEqual({ fencingToken: 8 });
      })(),
  );

  test(
    'with the fence record damaged too, the token still goes above the last one the contender read',
    marbles((m) => {
      const store = new MemoryStorePort({ scheduler: m.scheduler });
      // A holder Z (token 41) that stops heartbeating; no fence record yet (an older store).
      store.data.meta.set('processorLock', { owner: 'Z', fencingToken: 41, heartbeatAt: 0 });
      const lock = createStorageLock(store, { ...opts, ownerId: 'B', scheduler: m.scheduler });
      const seen: Array<[number, LockState]> = [];
      let sub!: Subscription;
      m.scheduler.schedule(() => {
        sub = lock.hold().subscribe((s) => seen.push([m.scheduler.now(), s]));
      });
      m.scheduler.schedule(() => {
        store.corruptMeta('processorLock');
        store.corruptMeta('processorLock.fence');
      }, 1500);
      m.scheduler.schedule(() => sub.unsubscribe(), 10_000);
      m.flush();
      expect(seen).toEqual([
        [2000, { held: false, lost: false, error: CORRUPT }], // the lock record
        [5000, { held: false, lost: false, error: CORRUPT }], // the fence record, read to claim
        [5050, { held: true, fencingToken: 42, takeover: true }],
      ]);
      expect(store.data.meta.get('processorLock.fence')).toEqual({ fencingToken: 42 });
    }),
  );

  test(
    'a holder that finds its own record unreadable stops at once, reports it, and takes the lock again after staleAfterMs with a higher token',
    marbles((m) => {
      const store = new MemoryStorePort({ scheduler: m.scheduler });
      const lock = createStorageLock(store, { ...opts, ownerId: 'A', scheduler: m.scheduler });
      const seen: Array<[number, LockState]> = [];
      let sub!: Subscription;
      m.scheduler.schedule(() => {
        sub = lock.hold().subscribe((s) => seen.push([m.scheduler.now(), s]));
      });
      m.scheduler.schedule(() => store.corruptMeta('processorLock'), 1500);
      m.scheduler.schedule(() => sub.unsubscribe(), 10_000);
      m.flush();
      expect(seen).toEqual([
        [50, { held: true, fencingToken: 1, takeover: false }],
        [2000, { held: false, lost: true, error: CORRUPT }],
        // Unreadable since 2 000, reported once; free at 5 000.
        [5050, { held: true, fencingToken: 2, takeover: true }],
      ]);
    }),
  );
});

describe('createStorageLock: a storage failure that keeps it from acquiring is reported', () => {
  /** `port` with every `writeMeta` refused for quota while `full()` says so (reads still work, as in a full browser quota). */
  const quotaFull = (port: MemoryStorePort, full: () => boolean): MetaPort =>
    ({
      readMeta: <T>(k: string) => port.readMeta<T>(k),
      writeMeta: <T>(k: string, v: T) => (full() ? throwError(() => new StorageError('quota')) : port.writeMeta(k, v)),
    }) as MetaPort;

  test(
    'a claim refused for quota: { held: false, error: quota } once (not at every poll), then acquired once there is room',
    marbles((m) => {
      const store = new MemoryStorePort({ scheduler: m.scheduler });
      let full = true;
      const lock = createStorageLock(quotaFull(store, () => full), { ...opts, ownerId: 'A', scheduler: m.scheduler });
      const seen: Array<[number, LockState]> = [];
      let sub!: Subscription;
      m.scheduler.schedule(() => {
        sub = lock.hold().subscribe((s) => seen.push([m.scheduler.now(), s]));
      });
      m.scheduler.schedule(() => (full = false), 3500);
      m.scheduler.schedule(() => sub.unsubscribe(), 6000);
      m.flush();
      expect(seen).toEqual([
        [0, { held: false, lost: false, error: { kind: 'storage', code: 'quota' } }],
        [4050, { held: true, fencingToken: expect.any(Number), takeover: false }],
      ]);
    }),
  );
});

