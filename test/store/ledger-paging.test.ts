import localforage from 'localforage';
import { asyncScheduler, type SchedulerLike } from 'rxjs';
import { createOpStore } from '../../src/store/create-op-store';
import { LEDGER_PAGE } from '../../src/idempotency/ledger';
import { generateStoreKey, RecordCipher } from '../../src/crypto/record-cipher';
import type { AesGcmEngine } from '../../src/crypto/aes-gcm-engine';
import { defineMemoryDriver } from '../../src/drivers/memory-driver';
import { nodeAesGcm } from '../../src/node/node-aes-gcm';
import { makeOps, makeOp } from './support/ops';
import { defineFaultyDriver } from './support/faulty-driver';

const HOUR = 3_600_000;

/** node:crypto AES-GCM counting the records it decrypts. */
function countingAesGcm(): AesGcmEngine & { decrypts: number } {
  const engine = {
    decrypts: 0,
    encrypt: nodeAesGcm.encrypt,
    decrypt: (...args: Parameters<AesGcmEngine['decrypt']>) => {
      engine.decrypts += 1;
      return nodeAesGcm.decrypt(...args);
    },
  };
  return engine;
}

/** asyncScheduler, counting the zero-delay actions scheduled on it. */
function countingScheduler(): SchedulerLike & { yields: number } {
  const s = {
    yields: 0,
    now: () => asyncScheduler.now(),
    schedule: ((work: never, delay?: number, state?: never) => {
      if (!delay) s.yields += 1;
      return asyncScheduler.schedule(work, delay, state);
    }) as SchedulerLike['schedule'],
  };
  return s;
}

describe('ledger and quarantine at scale (memory driver)', () => {
  it('opening a store that completes in one transaction decrypts no ledger entry and no queued op', async () => {
    const driver = await defineMemoryDriver();
    const encryptionKey = await generateStoreKey();
    const aesGcm = countingAesGcm();
    const opts = { name: 'open-atomic', driver, encryptionKey, aesGcm };
    const store = await createOpStore(opts);
    expect(store.completesAtomically).toBe(true);
    const ops = makeOps(1203);
    for (const op of ops) await store.append(op);
    for (const op of ops.slice(0, 1200)) await store.complete(op, Date.UTC(2030, 0));
    await store.close();

    aesGcm.decrypts = 0;
    const reopened = await createOpStore(opts);
    // The canary and the schema record: the key check. Nothing else.
    expect(aesGcm.decrypts).toBe(2);
    expect((await reopened.peek(10)).map((o) => o.id)).toEqual(ops.slice(1200).map((o) => o.id));
    await reopened.close();
  });

  it('where complete is two writes, opening repairs a half-done complete at the head, reading only the head of the queue', async () => {
    const { driver } = await defineFaultyDriver(await defineMemoryDriver());
    const encryptionKey = await generateStoreKey();
    const aesGcm = countingAesGcm();
    const opts = { name: 'open-two-writes', driver, encryptionKey, aesGcm };
    const store = await createOpStore(opts);
    expect(store.completesAtomically).toBe(false);
    const ops = makeOps(1500);
    for (const op of ops) await store.append(op);
    for (const op of ops.slice(0, 1200)) await store.complete(op, Date.UTC(2030, 0));
    await store.close();
    // As if the last complete had been cut between its ledger write and the removal.
    const cut = ops[1199]!;
    const pending = localforage.createInstance({ name: 'open-two-writes', storeName: 'pending_ops', driver });
    await pending.setItem(cut.id, await new RecordCipher(encryptionKey).seal('pending_ops', cut.id, JSON.stringify(cut)));

    aesGcm.decrypts = 0;
    const reopened = await createOpStore(opts);
    // The key check and one page at the head of 301 queued ops, not 1200 ledger entries.
    expect(aesGcm.decrypts).toBe(2 + 100);
    expect((await reopened.peek(2)).map((o) => o.id)).toEqual([ops[1200]!.id, ops[1201]!.id]);
    expect(await reopened.counts()).toEqual({ pending: 300, failed: 0 });
    expect(await reopened.isCompleted(cut.idempotencyKey)).toBe(true);
    await reopened.close();
  });

  it('a store last written where complete was two writes is checked at the head by its first one-transaction open, then never again', async () => {
    const memory = await defineMemoryDriver();
    const { driver: twoWrites } = await defineFaultyDriver(memory);
    const encryptionKey = await generateStoreKey();
    const aesGcm = countingAesGcm();
    const name = 'open-after-two-writes';
    const old = await createOpStore({ name, driver: twoWrites, encryptionKey, aesGcm });
    const ops = makeOps(150);
    for (const op of ops) await old.append(op);
    for (const op of ops.slice(0, 20)) await old.complete(op, Date.UTC(2030, 0));
    await old.close();
    // The last complete cut between its ledger write and the removal.
    const cut = ops[19]!;
    const pending = localforage.createInstance({ name, storeName: 'pending_ops', driver: memory });
    await pending.setItem(cut.id, await new RecordCipher(encryptionKey).seal('pending_ops', cut.id, JSON.stringify(cut)));

    aesGcm.decrypts = 0;
    const first = await createOpStore({ name, driver: memory, encryptionKey, aesGcm });
    // The key check and one page at the head (100 of the 131 queued ops).
    expect(aesGcm.decrypts).toBe(2 + 100);
    expect(await first.counts()).toEqual({ pending: 130, failed: 0 });
    expect((await first.peek(1))[0]?.id).toBe(ops[20]!.id);
    await first.close();

    aesGcm.decrypts = 0;
    const second = await createOpStore({ name, driver: memory, encryptionKey, aesGcm });
    expect(aesGcm.decrypts).toBe(2);
    await second.close();

    // A two-write open again (an older tab, another driver) clears the mark.
    await (await createOpStore({ name, driver: twoWrites, encryptionKey })).close();
    aesGcm.decrypts = 0;
    await (await createOpStore({ name, driver: memory, encryptionKey, aesGcm })).close();
    expect(aesGcm.decrypts).toBe(2 + 100);
  });

  it('prunes a ledger larger than one page a page at a time, giving the event loop back between pages', async () => {
    const driver = await defineMemoryDriver();
    const encryptionKey = await generateStoreKey();
    const scheduler = countingScheduler();
    let now = 100 * HOUR;
    const opts = { name: 'ledger-paging', driver, encryptionKey, scheduler, now: () => now };
    const store = await createOpStore(opts);
    const ops = makeOps(1203);
    for (const op of ops) await store.append(op);
    for (const op of ops.slice(0, 1200)) await store.complete(op, now);
    await store.close();
    // An expired entry's op still pending (a complete cut on an older build):
    // the prune removes the op before the entry, or it could be resent.
    const cipher = new RecordCipher(encryptionKey);
    const pending = localforage.createInstance({ name: 'ledger-paging', storeName: 'pending_ops', driver });
    await pending.setItem(ops[700]!.id, await cipher.seal('pending_ops', ops[700]!.id, JSON.stringify(ops[700])));

    now += 25 * HOUR;
    const pruned = await createOpStore(opts);
    scheduler.yields = 0;
    expect(await pruned.pruneLedger()).toBe(1200);
    // 1200 entries, LEDGER_PAGE a page: a yield before each page after the
    // first (the last read finds nothing).
    expect(scheduler.yields).toBe(Math.ceil(1200 / LEDGER_PAGE));
    expect(await pruned.isCompleted(ops[0]!.idempotencyKey)).toBe(false);
    expect(await pruned.isCompleted(ops[1199]!.idempotencyKey)).toBe(false);
    expect((await pruned.peek(10)).map((o) => o.id)).toEqual(ops.slice(1200).map((o) => o.id));
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
