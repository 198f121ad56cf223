import { generateStoreKey } from '../../src/crypto/record-cipher';
import { createOpStore, type SealedOpStore } from '../../src/store/create-op-store';
import { resetMemoryDriver } from '../../src/drivers/memory-driver';
import { makeOps } from './support/ops';
import { indexedDbHarness, memoryHarness, rawEntries, sqliteHarness } from './support/harness';
import { defineQuotaDriver } from './support/quota-driver';

/** Read-write transactions opened on (fake-)IndexedDB while `fn` runs, by scope. */
async function readWriteTransactions(fn: () => Promise<void>): Promise<string[]> {
  const seen: string[] = [];
  const original = IDBDatabase.prototype.transaction;
  IDBDatabase.prototype.transaction = function (this: IDBDatabase, ...args: Parameters<typeof original>) {
    const tx = original.apply(this, args);
    if (tx.mode === 'readwrite') seen.push(Array.from(tx.objectStoreNames).join('+'));
    return tx;
  } as typeof original;
  try {
    await fn();
  } finally {
    IDBDatabase.prototype.transaction = original;
  }
  return seen;
}

/**
 * `completeAll`: several ops completed in one transaction (the settle lane
 * merges the commits that queue up), on the drivers that have
 * `setAllAndRemove`. All or none is the driver's (test/drivers/set-all-and-remove.test.ts).
 */
const sqlite = sqliteHarness();
afterAll(() => sqlite.cleanup?.());

describe.each([memoryHarness, indexedDbHarness, sqlite])('completeAll on the $label', (h) => {
  let driver: string;
  let key: CryptoKey;
  const open: SealedOpStore[] = [];
  beforeAll(async () => {
    driver = await h.driver();
    key = await generateStoreKey();
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close()));
  });

  it('records every key and removes every op; completed emitted for each, in order', async () => {
    const name = h.freshName();
    const store = await createOpStore({ name, driver, encryptionKey: key, ...h.storeOptions });
    open.push(store);
    const [a, b, c, d] = makeOps(4);
    for (const op of [a!, b!, c!, d!]) await store.append(op);
    const changes: string[] = [];
    const sub = store.changes$.subscribe((ch) => changes.push(`${ch.type}:${'op' in ch ? ch.op.id : ''}`));
    const now = Date.now();
    const done = [a!, b!, c!].map((op, i) => ({ op, completedAt: now + i }));
    const txs = await readWriteTransactions(() => store.completeAll!(done));
    sub.unsubscribe();
    expect(await store.peek(10)).toEqual([d]);
    for (const op of [a!, b!, c!]) expect(await store.isCompleted(op.idempotencyKey)).toBe(true);
    expect(await store.isCompleted(d!.idempotencyKey)).toBe(false);
    expect(changes).toEqual([a!, b!, c!].map((op) => `completed:${op.id}`));
    // Sealed like every ledger entry.
    const ledger = await rawEntries(driver, name, 'idempotency_ledger');
    expect(ledger.map(([k]) => k).sort()).toEqual([a!, b!, c!].map((op) => op.idempotencyKey).sort());
    for (const [, v] of ledger) expect(String(v)).not.toContain(a!.id);
    // On IndexedDB: one transaction across both object stores for the three.
    if (h === indexedDbHarness) expect(txs).toEqual(['idempotency_ledger+pending_ops']);
  });
});

describe('completeAll under an exhausted quota', () => {
  it('removes every op first (never resent), then records their keys in the room freed', async () => {
    const { driver, plan } = await defineQuotaDriver();
    const name = 'complete-all-quota';
    const store = await createOpStore({ name, driver, encryptionKey: await generateStoreKey(), quotaReserveBytes: 0 });
    try {
      const [a, b, c] = makeOps(3);
      for (const op of [a!, b!, c!]) await store.append(op);
      plan.fill();
      // Recent: the prune after it keeps the entries.
      await store.completeAll!([
        { op: a!, completedAt: Date.now() },
        { op: b!, completedAt: Date.now() },
      ]);
      expect(await store.peek(10)).toEqual([c]);
      expect(await store.isCompleted(a!.idempotencyKey)).toBe(true);
      expect(await store.isCompleted(b!.idempotencyKey)).toBe(true);
    } finally {
      plan.reset();
      await store.close();
      resetMemoryDriver(name);
    }
  });
});
