import localforage from 'localforage';
import { createOpStore } from '../../src/store/create-op-store';
import { generateStoreKey, RecordCipher } from '../../src/crypto/record-cipher';
import { defineMemoryDriver } from '../../src/drivers/memory-driver';
import { makeOps, makeOp } from './support/ops';

const HOUR = 3_600_000;

describe('ledger and quarantine at scale (memory driver)', () => {
  it('repairs and prunes a ledger larger than one page', async () => {
    const driver = await defineMemoryDriver();
    const encryptionKey = await generateStoreKey();
    let now = 100 * HOUR;
    const opts = { name: 'ledger-paging', driver, encryptionKey, now: () => now };
    const store = await createOpStore(opts);
    const ops = makeOps(1203);
    for (const op of ops) await store.append(op);
    for (const op of ops.slice(0, 1200)) await store.complete(op, now);
    await store.close();
    // As if two completes deep in the ledger (pages 2 and 3) had crashed
    // between their ledger write and their pending removal.
    const cipher = new RecordCipher(encryptionKey);
    const pending = localforage.createInstance({ name: 'ledger-paging', storeName: 'pending_ops', driver });
    for (const op of [ops[700]!, ops[1100]!]) await pending.setItem(op.id, await cipher.seal('pending_ops', op.id, JSON.stringify(op)));
    expect(await pending.length()).toBe(5);

    now += HOUR;
    const repaired = await createOpStore(opts);
    expect((await repaired.peek(10)).map((o) => o.id)).toEqual(ops.slice(1200).map((o) => o.id));
    expect(await repaired.isCompleted(ops[1100]!.idempotencyKey)).toBe(true);
    await repaired.close();

    now += 24 * HOUR;
    const pruned = await createOpStore(opts);
    expect(await pruned.isCompleted(ops[0]!.idempotencyKey)).toBe(false);
    expect(await pruned.isCompleted(ops[1199]!.idempotencyKey)).toBe(false);
    expect(await localforage.createInstance({ name: 'ledger-paging', storeName: 'idempotency_ledger', driver }).length()).toBe(0);
    await pruned.close();
  });

  it('moves a corrupt record once when overlapping peeks meet it', async () => {
    const driver = await defineMemoryDriver();
    const key = await generateStoreKey();
    const store = await createOpStore({ name: 'overlap', driver, encryptionKey: key });
    const bad = makeOp();
    const good = makeOp();
    await store.append(good);
    const raw = localforage.createInstance({ name: 'overlap', storeName: 'pending_ops', driver });
    await raw.setItem(bad.id, await new RecordCipher(key).seal('pending_ops', bad.id, 'not json'));
    const failed: string[] = [];
    store.changes$.subscribe((c) => c.type === 'failed' && failed.push(c.record.id));
    const [a, b] = await Promise.all([store.peek(5), store.peek(5)]);
    expect(a).toEqual([good]);
    expect(b).toEqual([good]);
    expect(failed).toEqual([bad.id]);
    expect(await store.counts()).toEqual({ pending: 1, failed: 1 });
    await store.close();
  });
});
