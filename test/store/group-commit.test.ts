import { createOpStore } from '../../src/store/create-op-store';
import { generateStoreKey } from '../../src/crypto/record-cipher';
import { StorageError } from '../../src/errors/sync-error';
import { defineMemoryDriver } from '../../src/drivers/memory-driver';
import { nodeAesGcm } from '../../src/node/node-aes-gcm';
import { makeOps } from './support/ops';
import { defineFaultyDriver } from './support/faulty-driver';
import { rawEntries } from './support/harness';

describe('group commit of concurrent appends', () => {
  let base: string;
  let faulty: Awaited<ReturnType<typeof defineFaultyDriver>>;
  let key: CryptoKey;
  beforeAll(async () => {
    base = await defineMemoryDriver();
    faulty = await defineFaultyDriver(base);
    key = await generateStoreKey();
  });
  afterEach(() => faulty.plan.reset());

  it('writes appends made in the same tick with one atomic write, in FIFO order', async () => {
    const store = await createOpStore({ name: 'gc-1', driver: faulty.driver, encryptionKey: key, aesGcm: nodeAesGcm });
    const before = faulty.plan.writes;
    const ops = makeOps(12);
    await Promise.all(ops.map((op) => store.append(op)));
    expect(faulty.plan.writes - before).toBe(1);
    expect(await store.peek(20)).toEqual(ops);
    await store.append(makeOps(1)[0]!);
    expect(faulty.plan.writes - before).toBe(2);
    await store.close();
  });

  it('rejects every append of a failed batch and writes none of them', async () => {
    const store = await createOpStore({ name: 'gc-2', driver: faulty.driver, encryptionKey: key });
    const [kept, ...batch] = makeOps(6);
    await store.append(kept!);
    faulty.plan.failWith(new DOMException('full', 'QuotaExceededError'));
    const results = await Promise.allSettled(batch.map((op) => store.append(op)));
    for (const r of results) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(StorageError);
      expect((r as PromiseRejectedResult).reason).toMatchObject({ reason: 'quota' });
    }
    faulty.plan.reset();
    expect((await rawEntries(base, 'gc-2', 'pending_ops')).map(([k]) => k)).toEqual([kept!.id]);
    await store.close();
  });

  it('close() writes appends already accepted before releasing the handles', async () => {
    const store = await createOpStore({ name: 'gc-3', driver: faulty.driver, encryptionKey: key });
    const ops = makeOps(3);
    const appended = Promise.all(ops.map((op) => store.append(op)));
    await store.close();
    await expect(appended).resolves.toHaveLength(3);
    const again = await createOpStore({ name: 'gc-3', driver: base, encryptionKey: key });
    expect(await again.peek(5)).toEqual(ops);
    await again.close();
  });

  it('batches under the Web Crypto engine too (seals run in parallel, one write)', async () => {
    const store = await createOpStore({ name: 'gc-4', driver: faulty.driver, encryptionKey: key });
    const before = faulty.plan.writes;
    const ops = makeOps(5);
    await Promise.all(ops.map((op) => store.append(op)));
    expect(faulty.plan.writes - before).toBe(1);
    await store.close();
  });
});
