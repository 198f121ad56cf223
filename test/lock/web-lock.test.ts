import { VirtualTimeScheduler, type Subscription } from 'rxjs';
import { createStorageLock } from '../../src/lock/storage-lock';
import type { LockState, ProcessorLock } from '../../src/lock/processor-lock';
import { createWebLock } from '../../src/lock/web-lock';
import { platformLockManager } from '../../src/lock/web-lock-manager';
import { FakeLockOrigin } from '../support/fake-lock-manager';
import { MemoryStoreData, MemoryStorePort } from '../support/memory-store-port';

/** Let every pending Promise callback run (the fake LockManager and the lock are Promise-driven). */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function watch(lock: ProcessorLock): { seen: LockState[]; sub: Subscription } {
  const seen: LockState[] = [];
  return { seen, sub: lock.hold().subscribe((s) => seen.push(s)) };
}

const HELD = (fencingToken: number): LockState => ({ held: true, fencingToken, takeover: false });
const LOST: LockState = { held: false, lost: true };

describe('createWebLock (fake LockManager)', () => {
  test('is granted the Web Lock, bumps the fence record in the store, and releases on release()', async () => {
    const origin = new FakeLockOrigin();
    const store = new MemoryStorePort();
    store.data.meta.set('processorLock.fence', { fencingToken: 41 });
    const lock = createWebLock(store, { locks: origin.page(), newId: () => 'store-1' });
    const a = watch(lock);
    await settle();
    expect(a.seen).toEqual([HELD(42)]);
    expect(store.data.meta.get('processorLock.fence')).toEqual({ fencingToken: 42 });
    expect(store.data.meta.get('processorLock.id')).toBe('store-1');
    expect(origin.heldNames()).toEqual(['sync-engine:processorLock:store-1']);
    // Unsubscribing keeps the lock (a settlement may still be written); release() gives it up.
    a.sub.unsubscribe();
    await settle();
    expect(origin.heldNames()).toHaveLength(1);
    let released: boolean | undefined;
    lock.release().subscribe((r) => (released = r));
    await settle();
    expect(released).toBe(true);
    expect(origin.heldNames()).toEqual([]);
    lock.release().subscribe((r) => (released = r));
    expect(released).toBe(false);
  });

  test('a second contender waits, and is granted at once when the holder releases or its page goes away', async () => {
    const origin = new FakeLockOrigin();
    const data = new MemoryStoreData();
    const tabs = [origin.page(), origin.page(), origin.page()];
    const locks = tabs.map((page) => createWebLock(new MemoryStorePort({}, data), { locks: page }));
    const a = watch(locks[0]!);
    await settle();
    const b = watch(locks[1]!);
    const c = watch(locks[2]!);
    await settle();
    expect([a.seen, b.seen, c.seen]).toEqual([[HELD(1)], [], []]);
    // A stops cleanly (the engine's stop/dispose: unsubscribe, then release).
    a.sub.unsubscribe();
    locks[0]!.release().subscribe();
    await settle();
    expect([b.seen, c.seen]).toEqual([[HELD(2)], []]);
    // B's tab is closed (or reloaded, or crashes): no release, the browser lets go.
    tabs[1]!.close();
    await settle();
    expect(c.seen).toEqual([HELD(3)]);
    expect(data.meta.get('processorLock.fence')).toEqual({ fencingToken: 3 });
    c.sub.unsubscribe();
  });

  test('stops waiting when unsubscribed before it is granted', async () => {
    const origin = new FakeLockOrigin();
    const data = new MemoryStoreData();
    const a = createWebLock(new MemoryStorePort({}, data), { locks: origin.page() });
    const b = createWebLock(new MemoryStorePort({}, data), { locks: origin.page() });
    const holdA = watch(a);
    await settle();
    const holdB = watch(b);
    await settle();
    holdB.sub.unsubscribe();
    holdA.sub.unsubscribe();
    a.release().subscribe();
    await settle();
    expect(origin.heldNames()).toEqual([]);
    expect(holdB.seen).toEqual([]);
    expect(origin.grants.filter(([name]) => name !== 'sync-engine:store-id').map(([, page]) => page)).toEqual([1]);
  });

  test('a stolen lock is reported lost at once, then asked for again', async () => {
    const origin = new FakeLockOrigin();
    const lock = createWebLock(new MemoryStorePort(), { locks: origin.page(), name: 'app-lock' });
    const a = watch(lock);
    await settle();
    let releaseThief!: () => void;
    void origin.page().request('app-lock', { mode: 'exclusive', steal: true }, () => new Promise<void>((r) => (releaseThief = r)));
    await settle();
    expect(a.seen).toEqual([HELD(1), LOST]);
    releaseThief();
    await settle();
    expect(a.seen).toEqual([HELD(1), LOST, HELD(2)]);
    a.sub.unsubscribe();
  });

  test('two stores of one origin get two locks; every engine of one store the same one (the id is made once)', async () => {
    const origin = new FakeLockOrigin();
    const one = new MemoryStoreData();
    const two = new MemoryStoreData();
    let ids = 0;
    const newId = () => `id-${(ids += 1)}`;
    const l1 = createWebLock(new MemoryStorePort({}, one), { locks: origin.page(), newId });
    const l2 = createWebLock(new MemoryStorePort({}, one), { locks: origin.page(), newId });
    const l3 = createWebLock(new MemoryStorePort({}, two), { locks: origin.page(), newId });
    const w = [watch(l1), watch(l2), watch(l3)];
    await settle();
    expect(w.map((x) => x.seen.length)).toEqual([1, 0, 1]);
    expect(origin.heldNames().sort()).toEqual(['sync-engine:processorLock:id-1', 'sync-engine:processorLock:id-2']);
    expect(one.meta.get('processorLock.id')).toBe('id-1');
    w.forEach((x) => x.sub.unsubscribe());
  });

  test('the store failing while the token is bumped: the lock is let go, the error reported once, asked for again after retryMs', async () => {
    const scheduler = new VirtualTimeScheduler();
    const origin = new FakeLockOrigin();
    const store = new MemoryStorePort();
    store.data.meta.set('processorLock.id', 'x');
    const lock = createWebLock(store, { locks: origin.page(), scheduler, retryMs: 500 });
    store.failNext('writeMeta', 2);
    const a = watch(lock);
    await settle();
    expect(a.seen).toEqual([{ held: false, lost: false, error: { kind: 'storage', code: 'unavailable' } }]);
    expect(origin.heldNames()).toEqual([]);
    scheduler.maxFrames = 500;
    scheduler.flush();
    await settle();
    expect(a.seen).toHaveLength(1); // the second failure is not reported again
    scheduler.maxFrames = 1000;
    scheduler.flush();
    await settle();
    expect(a.seen.slice(1)).toEqual([HELD(1)]);
    a.sub.unsubscribe();
  });

  test('an unreadable fence record is reported once and overwritten above every token this lock saw', async () => {
    const origin = new FakeLockOrigin();
    const store = new MemoryStorePort();
    const lock = createWebLock(store, { locks: origin.page(), name: 'n' });
    const a = watch(lock);
    await settle();
    a.sub.unsubscribe();
    lock.release().subscribe();
    store.corruptMeta('processorLock.fence');
    const b = watch(lock);
    await settle();
    expect(b.seen).toEqual([{ held: false, lost: false, error: { kind: 'storage', code: 'corrupt' } }, HELD(2)]);
    b.sub.unsubscribe();
  });

  test('where the platform refuses Web Locks (a rejection other than AbortError), the fallback lock takes over', async () => {
    const scheduler = new VirtualTimeScheduler();
    const store = new MemoryStorePort({ scheduler });
    const refusing = { request: () => Promise.reject(Object.assign(new Error('denied'), { name: 'SecurityError' })) };
    const fallback = createStorageLock(store, { ownerId: 'A', scheduler, settleMs: 50 });
    const lock = createWebLock(store, { locks: refusing, fallback: () => fallback });
    const a = watch(lock);
    await settle();
    scheduler.maxFrames = 100;
    scheduler.flush();
    expect(a.seen).toEqual([{ held: true, fencingToken: 1, takeover: false }]);
    expect(store.data.meta.get('processorLock')).toMatchObject({ owner: 'A' });
    a.sub.unsubscribe();
  });
});

describe('platformLockManager', () => {
  test('is undefined in Node (its navigator.locks would span one process only)', () => {
    expect(platformLockManager()).toBeUndefined();
  });
});
