import { generateStoreKey } from '../../src/crypto/record-cipher';
import { createOpStore, type SealedOpStore } from '../../src/store/create-op-store';
import { RESERVE_KEY } from '../../src/store/meta-keys';
import { resetMemoryDriver } from '../../src/drivers/memory-driver';
import { withRaw } from './support/harness';
import { makeOp } from './support/ops';
import { defineQuotaDriver, type QuotaPlan } from './support/quota-driver';

/**
 * The quota reserve (`QuotaReserve`, wired in `createOpStore`) on a driver
 * that refuses puts as Chromium does once the quota is exhausted: the
 * writes sending needs get through, `append` does not.
 */
describe('QuotaReserve: writes sending needs under an exhausted quota', () => {
  let driver: string;
  let plan: QuotaPlan;
  let key: CryptoKey;
  let seq = 0;
  let name: string;
  let store: SealedOpStore | undefined;

  beforeAll(async () => {
    ({ driver, plan } = await defineQuotaDriver());
    key = await generateStoreKey();
  });
  beforeEach(() => {
    plan.reset();
    name = `quota-reserve-${++seq}`;
  });
  afterEach(async () => {
    plan.reset();
    await store?.close();
    store = undefined;
    resetMemoryDriver(name);
  });

  const open = async (quotaReserveBytes?: number) => {
    store = await createOpStore({ name, driver, encryptionKey: key, ...(quotaReserveBytes === undefined ? {} : { quotaReserveBytes }) });
    return store;
  };
  const hasReserve = () => withRaw(driver, name, 'meta', async (f) => (await f.getItem(RESERVE_KEY)) !== null);

  it('open writes the ballast (sealed, at least quotaReserveBytes)', async () => {
    await open(4096);
    const raw = await withRaw(driver, name, 'meta', (f) => f.getItem<unknown>(RESERVE_KEY));
    expect(JSON.stringify(raw).length).toBeGreaterThanOrEqual(4096);
    expect(JSON.stringify(raw)).not.toContain('0000');
    await store?.close();
    resetMemoryDriver(name);
    await open(0); // quotaReserveBytes: 0 keeps none
    expect(await hasReserve()).toBe(false);
  });

  it.each([-1, 1.5, Number.NaN])('quotaReserveBytes %p is refused with ValidationError(invalidOptions)', async (bytes) => {
    await expect(createOpStore({ name, driver, encryptionKey: key, quotaReserveBytes: bytes })).rejects.toMatchObject({
      name: 'ValidationError',
      reason: 'invalidOptions',
    });
  });

  it("the lock's fence bump (writeMeta) refused for quota spends the reserve and lands", async () => {
    const s = await open();
    plan.fill();
    await expect(s.writeMeta('processorLock.fence', { fencingToken: 7 })).resolves.toBeUndefined();
    expect(await s.readMeta('processorLock.fence')).toEqual({ fencingToken: 7 });
    expect(plan.refused).toBe(1);
    expect(await hasReserve()).toBe(false);
  });

  it('attempt bookkeeping (update) refused for quota spends the reserve and lands', async () => {
    const s = await open();
    const op = makeOp();
    await s.append(op);
    plan.fill();
    await s.update({ ...op, attempts: 3, nextAttemptAt: 42 });
    expect(await s.peek(1)).toEqual([{ ...op, attempts: 3, nextAttemptAt: 42 }]);
  });

  it('a dead-letter move (fail) refused for quota spends the reserve and lands', async () => {
    const s = await open();
    const op = makeOp();
    await s.append(op);
    plan.fill();
    await s.fail(op, { reason: 'permanent', error: { kind: 'permanent', status: 400 }, failedAt: 1 });
    expect(await s.counts()).toEqual({ pending: 0, failed: 1 });
  });

  it('append never spends it: enqueue keeps rejecting with StorageError(quota), the reserve stays', async () => {
    const s = await open();
    plan.fill();
    await expect(s.append(makeOp())).rejects.toMatchObject({ name: 'StorageError', reason: 'quota' });
    expect(await hasReserve()).toBe(true);
    expect(await s.counts()).toEqual({ pending: 0, failed: 0 });
  });

  it('spent, it is written again once a completion has freed room', async () => {
    const s = await open();
    const [a, b] = [makeOp(), makeOp()];
    await s.append(a);
    await s.append(b);
    plan.fill();
    await s.writeMeta('processorLock.fence', { fencingToken: 1 }); // spends it; the delete freed room
    expect(await hasReserve()).toBe(false);
    await s.complete(a, 1);
    await s.close(); // waits for the refill in flight
    store = undefined;
    expect(await hasReserve()).toBe(true);
  });

  it('with no room even after the reserve is gone, the write rejects with StorageError(quota) (the stall surfaces)', async () => {
    const s = await open();
    expect(await hasReserve()).toBe(true);
    plan.fill({ staysFull: true });
    await expect(s.writeMeta('processorLock.fence', { fencingToken: 1 })).rejects.toMatchObject({ name: 'StorageError', reason: 'quota' });
    expect(await hasReserve()).toBe(false); // spent on the first try
    await expect(s.writeMeta('processorLock.fence', { fencingToken: 1 })).rejects.toMatchObject({ name: 'StorageError', reason: 'quota' });
  });
});
