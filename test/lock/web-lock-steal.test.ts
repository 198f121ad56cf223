import { VirtualTimeScheduler, type Subscription } from 'rxjs';
import type { LockState, ProcessorLock } from '../../src/lock/processor-lock';
import { createWebLock } from '../../src/lock/web-lock';
import { FakeChannelBus } from '../support/fake-channel-bus';
import { FakeLockOrigin } from '../support/fake-lock-manager';
import { MemoryStoreData, MemoryStorePort } from '../support/memory-store-port';
import { runUntil } from '../support/virtual-time';

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function watch(lock: ProcessorLock): { seen: LockState[]; sub: Subscription } {
  const seen: LockState[] = [];
  return { seen, sub: lock.hold().subscribe((s) => seen.push(s)) };
}

/**
 * The Web Lock held by a page that can no longer run — frozen without a
 * `freeze` event, paused in a debugger — is never released by the browser.
 * The tabs waiting for it probe the holder (`holderLiveness`); one that
 * stops answering is stolen from, and the steal bumps the fencing token
 * like any acquisition, so the stopped holder is fenced out when it runs
 * again. Each page has its own virtual clock: a page whose clock is not
 * advanced runs no timer task, as a frozen page.
 */
describe('createWebLock: stealing from a holder that stopped answering', () => {
  const twoTabs = (stealAfterMs?: number) => {
    const origin = new FakeLockOrigin();
    const bus = new FakeChannelBus();
    const data = new MemoryStoreData();
    const clockA = new VirtualTimeScheduler();
    const clockB = new VirtualTimeScheduler();
    const options = (scheduler: VirtualTimeScheduler) => ({ name: 'lock-1', livenessChannel: bus.Channel, scheduler, ...(stealAfterMs === undefined ? {} : { stealAfterMs }) });
    const pageA = origin.page();
    const lockA = createWebLock(new MemoryStorePort({}, data), { locks: pageA, ...options(clockA) });
    const lockB = createWebLock(new MemoryStorePort({}, data), { locks: origin.page(), ...options(clockB) });
    return { origin, bus, data, clockA, clockB, lockA, lockB, pageA };
  };

  test('A holds and stops running: B steals after three unanswered probes (~stealAfterMs), with a fencing token above A’s; A learns it lost the lock', async () => {
    const { origin, data, clockB, lockA, lockB } = twoTabs();
    const a = watch(lockA);
    await settle();
    expect(a.seen).toEqual([{ held: true, fencingToken: 1, takeover: false }]);
    const b = watch(lockB);
    await runUntil(clockB, 2_999);
    expect(b.seen).toEqual([]);
    await runUntil(clockB, 3_000);
    await settle();
    // Taken over, not handed over: `takeover` says so (sync.lock.takeover.count).
    expect(b.seen).toEqual([{ held: true, fencingToken: 2, takeover: true }]);
    expect(data.meta.get('processorLock.fence')).toEqual({ fencingToken: 2 });
    expect(origin.holder('lock-1')).toBe(2);
    // The stolen request rejects with AbortError: A reports the loss (its engine's fence refuses its writes meanwhile).
    expect(a.seen).toEqual([{ held: true, fencingToken: 1, takeover: false }, { held: false, lost: true }]);
    a.sub.unsubscribe();
    b.sub.unsubscribe();
  });

  test('a holder whose page runs answers every probe: the waiter waits, however long the holder keeps the lock', async () => {
    const { origin, clockA, clockB, lockA, lockB } = twoTabs();
    const a = watch(lockA);
    await settle();
    const b = watch(lockB);
    for (let t = 250; t <= 30_000; t += 250) {
      await runUntil(clockB, t);
      await runUntil(clockA, t);
    }
    expect(b.seen).toEqual([]);
    expect(origin.holder('lock-1')).toBe(1);
    // Released: handed over at once, as ever.
    a.sub.unsubscribe();
    lockA.release().subscribe();
    await settle();
    expect(b.seen).toEqual([{ held: true, fencingToken: 2, takeover: false }]);
    b.sub.unsubscribe();
  });

  test('stealAfterMs: 0 never probes and never steals', async () => {
    const { bus, clockB, lockA, lockB } = twoTabs(0);
    const a = watch(lockA);
    await settle();
    const b = watch(lockB);
    await runUntil(clockB, 60_000);
    expect(b.seen).toEqual([]);
    expect(bus.posted).toEqual([]);
    a.sub.unsubscribe();
    b.sub.unsubscribe();
  });

  test('the stopped holder, running again, waits in line and answers nothing until it holds again; the thief answers its probes', async () => {
    const { clockA, clockB, lockA, lockB } = twoTabs();
    const a = watch(lockA);
    await settle();
    const b = watch(lockB);
    await runUntil(clockB, 3_000);
    await settle();
    expect(b.seen).toHaveLength(1);
    // A runs again: it asks for the lock in line; B answers its probes, so A never steals back.
    for (let t = 3_250; t <= 30_000; t += 250) {
      await runUntil(clockA, t);
      await runUntil(clockB, t);
    }
    expect(a.seen.slice(2)).toEqual([]);
    expect(b.seen).toHaveLength(1);
    a.sub.unsubscribe();
    b.sub.unsubscribe();
  });
});
