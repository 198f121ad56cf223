import { VirtualTimeScheduler, firstValueFrom } from 'rxjs';
import { ValidationError } from '../../src/errors/sync-error';
import { createDefaultLock } from '../../src/lock/default-lock';
import type { LockState } from '../../src/lock/processor-lock';
import { FakeLockOrigin } from '../support/fake-lock-manager';
import { MemoryStorePort } from '../support/memory-store-port';

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('createDefaultLock', () => {
  test('uses the Web Locks API when given one: no storage-lock record, the fence record bumped', async () => {
    const store = new MemoryStorePort();
    const origin = new FakeLockOrigin();
    const fenced = createDefaultLock(store, { locks: origin.page() });
    const seen: LockState[] = [];
    const sub = fenced.lock.hold().subscribe((s) => seen.push(s));
    await settle();
    expect(seen).toEqual([{ held: true, fencingToken: 1, takeover: false }]);
    expect(store.data.meta.has('processorLock')).toBe(false);
    expect(await firstValueFrom(fenced.check())).toBe(true);
    sub.unsubscribe();
  });

  test('uses the storage lock without Web Locks (Node, or locks: null), fenced the same way', async () => {
    const scheduler = new VirtualTimeScheduler();
    const store = new MemoryStorePort({ scheduler });
    const fenced = createDefaultLock(store, { locks: null, scheduler, ownerId: 'A' });
    const seen: LockState[] = [];
    const sub = fenced.lock.hold().subscribe((s) => seen.push(s));
    scheduler.maxFrames = 100;
    scheduler.flush();
    expect(seen).toEqual([{ held: true, fencingToken: 1, takeover: false }]);
    expect(store.data.meta.get('processorLock')).toMatchObject({ owner: 'A', fencingToken: 1 });
    expect(await firstValueFrom(fenced.check())).toBe(true);
    sub.unsubscribe();
  });

  test('checks the storage-lock timings at once, also where Web Locks will be used', () => {
    const origin = new FakeLockOrigin();
    expect(() => createDefaultLock(new MemoryStorePort(), { locks: origin.page(), heartbeatMs: 1000, staleAfterMs: 500 })).toThrow(ValidationError);
  });
});
