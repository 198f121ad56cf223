import { generateStoreKey } from '../../src/crypto/record-cipher';
import { createOpStore, type SealedOpStore } from '../../src/store/create-op-store';
import { resetMemoryDriver } from '../../src/drivers/memory-driver';
import { makeOp } from './support/ops';
import { defineQuotaDriver, type QuotaPlan } from './support/quota-driver';

/**
 * Completion (`ledgerTables.commit`) under an exhausted quota, with no
 * reserve to spend: the one transaction (ledger entry + removal) is
 * refused, so the op is removed first — never resent — and its key
 * recorded when the removal made room.
 */
describe('ledgerTables: completion under an exhausted quota', () => {
  let driver: string;
  let plan: QuotaPlan;
  let key: CryptoKey;
  let seq = 0;
  let name: string;
  let store: SealedOpStore;

  beforeAll(async () => {
    ({ driver, plan } = await defineQuotaDriver());
    key = await generateStoreKey();
  });
  beforeEach(async () => {
    plan.reset();
    name = `ledger-quota-${++seq}`;
    store = await createOpStore({ name, driver, encryptionKey: key, quotaReserveBytes: 0 });
  });
  afterEach(async () => {
    plan.reset();
    await store.close();
    resetMemoryDriver(name);
  });

  it('removes the op first, then records its key in the room the removal freed', async () => {
    const [a, b] = [makeOp(), makeOp()];
    await store.append(a);
    await store.append(b);
    plan.fill();
    const changes: string[] = [];
    const sub = store.changes$.subscribe((c) => changes.push(c.type));
    await store.complete(a, Date.now()) // recent: the prune after it keeps the entry;
    sub.unsubscribe();
    expect(await store.peek(10)).toEqual([b]);
    expect(await store.isCompleted(a.idempotencyKey)).toBe(true);
    expect(changes).toEqual(['completed']);
  });

  it('when even the ledger entry is refused: the op is still removed (never resent), its key is not claimed', async () => {
    const [a, b] = [makeOp(), makeOp()];
    await store.append(a);
    await store.append(b);
    plan.fill({ staysFull: true });
    await store.complete(a, Date.now()) // recent: the prune after it keeps the entry;
    expect(await store.peek(10)).toEqual([b]);
    expect(await store.isCompleted(a.idempotencyKey)).toBe(false);
  });
});
