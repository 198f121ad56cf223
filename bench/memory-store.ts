/**
 * A fresh encrypted op store on the memory driver for one bench
 * measurement, whose tables are dropped on `close()`: a memory store's
 * tables outlive close() (so a test can reopen them), and every earlier
 * run's queue and ledger left on the heap would tax the later runs' GC.
 */
import { randomUUID } from 'node:crypto';
import { generateStoreKey } from '../src/crypto/record-cipher';
import { defineMemoryDriver, resetMemoryDriver } from '../src/drivers/memory-driver';
import { nodeAesGcm } from '../src/node';
import { createOpStore } from '../src/store/create-op-store';
import type { OpStore } from '../src/store/op-store';

/**
 * Open a memory-driver store under a fresh name; `close()` also drops its tables.
 *
 * @example
 * const store = await benchMemoryStore();
 * try { await measure(store); } finally { await store.close(); }
 */
export async function benchMemoryStore(): Promise<OpStore> {
  const name = `bench-${randomUUID()}`;
  const store = await createOpStore({ name, driver: await defineMemoryDriver(), encryptionKey: await generateStoreKey(), aesGcm: nodeAesGcm });
  const close = store.close.bind(store);
  return Object.assign(store, {
    close: async () => {
      await close();
      resetMemoryDriver(name);
    },
  });
}
