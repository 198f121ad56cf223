import { VirtualTimeScheduler, defer, finalize, type Observable, type Subscription } from 'rxjs';
import type { MetaPort } from '../../streams/ports';
import { storePortFromOpStore } from '../../src/engine/store-port';
import { generateStoreKey } from '../../src/crypto/record-cipher';
import { createStorageLock } from '../../src/lock/storage-lock';
import type { LockState } from '../../src/lock/processor-lock';
import { createOpStore, type LocalForageOpStore } from '../../src/store/create-op-store';
import { indexedDbHarness, memoryHarness, sqliteHarness, withRaw, type StoreHarness } from '../store/support/harness';

const opts = { heartbeatMs: 1000, staleAfterMs: 3000, settleMs: 50 };

/**
 * Virtual time over a real (Promise-based) store: storage calls take no
 * virtual time. Time advances only while no storage call is in flight, so
 * every heartbeat and settle happens at its exact virtual instant whatever
 * the driver's real latency.
 */
class StorageClock {
  readonly scheduler = new VirtualTimeScheduler();
  #inFlight = 0;

  /** `meta` with every call counted while in flight. */
  track(meta: MetaPort): MetaPort {
    const counted = <T>(call: () => Observable<T>): Observable<T> =>
      defer(() => {
        this.#inFlight += 1;
        return call().pipe(finalize(() => (this.#inFlight -= 1)));
      });
    return {
      readMeta: (key) => counted(() => meta.readMeta(key)),
      writeMeta: (key, value) => counted(() => meta.writeMeta(key, value)),
    };
  }

  /** Run every action up to virtual time `t`, letting storage settle between them; `now()` is `t` after. */
  async advanceTo(t: number): Promise<void> {
    this.scheduler.schedule(() => undefined, t - this.scheduler.now());
    for (;;) {
      do await new Promise((r) => setImmediate(r));
      while (this.#inFlight > 0);
      const next = this.scheduler.actions[0];
      if (next === undefined || next.delay > t) return;
      this.scheduler.maxFrames = next.delay;
      this.scheduler.flush();
    }
  }
}

describe.each<StoreHarness>([memoryHarness, indexedDbHarness, sqliteHarness()])('createStorageLock on the $label', (h) => {
  let driver: string;
  let key: CryptoKey;
  const open: LocalForageOpStore[] = [];
  const subs: Subscription[] = [];

  beforeAll(async () => {
    driver = await h.driver();
    key = await generateStoreKey();
  });
  afterEach(async () => {
    subs.splice(0).forEach((s) => s.unsubscribe());
    await Promise.all(open.splice(0).map((s) => s.close()));
  });
  afterAll(() => h.cleanup?.());

  it('a lock record with one flipped byte is reported once and taken over after staleAfterMs, with the next fencing token', async () => {
    const name = h.freshName();
    const store = await createOpStore({ name, driver, encryptionKey: key, ...h.storeOptions });
    open.push(store);
    const clock = new StorageClock();
    const port = clock.track(storePortFromOpStore(store));
    const seen: Array<[string, number, LockState]> = [];
    const contend = (id: string): Subscription => {
      const sub = createStorageLock(port, { ...opts, ownerId: id, scheduler: clock.scheduler })
        .hold()
        .subscribe((s) => seen.push([id, clock.scheduler.now(), s]));
      subs.push(sub);
      return sub;
    };

    // A holds the lock, heartbeats at 1 000, 2 000, 3 000, and dies at 3 500.
    const a = contend('A');
    await clock.advanceTo(3500);
    a.unsubscribe();
    // One byte of the sealed record flips on disk: AES-GCM rejects it.
    await withRaw(driver, name, 'meta', async (f) => {
      const sealed = await f.getItem<string>('app:processorLock');
      expect(typeof sealed).toBe('string');
      const s = sealed as string;
      await f.setItem('app:processorLock', s.slice(0, -6) + (s.at(-6) === 'A' ? 'B' : 'A') + s.slice(-5));
    });
    await expect(store.readMeta('processorLock')).rejects.toMatchObject({ reason: 'corrupt' });

    // B, a new process, looks at 3 500, 4 500, 5 500, 6 500: unreadable throughout.
    contend('B');
    await clock.advanceTo(9000);
    expect(seen).toEqual([
      ['A', 50, { held: true, fencingToken: 1, takeover: false }],
      ['B', 3500, { held: false, lost: false, error: { kind: 'storage', code: 'corrupt' } }],
      ['B', 6550, { held: true, fencingToken: 2, takeover: true }],
    ]);
    // The claim replaced the damaged record; the fence record kept the token.
    expect(await store.readMeta('processorLock')).toMatchObject({ owner: 'B', fencingToken: 2 });
    expect(await store.readMeta('processorLock.fence')).toEqual({ fencingToken: 2 });
  });
});
