import localforage from 'localforage';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineMemoryDriver } from '../../../src/drivers/memory-driver';
import { defineSqliteDriver } from '../../../src/node/sqlite-driver';
import type { RangeCapableForage } from '../../../src/drivers/range-driver';
import { nodeAesGcm } from '../../../src/node/node-aes-gcm';
import type { OpStoreOptions } from '../../../src/store/op-store-options';

/** How the shared store suites reach one driver. */
export interface StoreHarness {
  readonly label: string;
  /** Define the driver (once) and return its name. */
  driver(): Promise<string>;
  /** A database name no other test uses (a file path for SQLite). */
  freshName(): string;
  /** Store options this driver is used with by default (e.g. the Node AES-GCM engine). */
  readonly storeOptions?: Partial<OpStoreOptions>;
  /** Every byte the driver persisted for `name`, when it lives in files. */
  rawFileBytes?(name: string): Buffer;
  cleanup?(): void;
}

/** Run `fn` on a bare localforage instance of the same driver and table: what is really stored. */
export async function withRaw<A>(driver: string, name: string, storeName: string, fn: (f: LocalForage) => Promise<A>): Promise<A> {
  const f = localforage.createInstance({ name, storeName, driver }) as RangeCapableForage;
  await f.ready();
  try {
    return await fn(f);
  } finally {
    if (typeof f.closeInstance === 'function') await f.closeInstance();
  }
}

/** Every key/value of a table, as stored. */
export async function rawEntries(driver: string, name: string, storeName: string): Promise<Array<[string, unknown]>> {
  return withRaw(driver, name, storeName, async (f) => {
    const out: Array<[string, unknown]> = [];
    await f.iterate<unknown, void>((v, k) => {
      out.push([k, v]);
    });
    return out;
  });
}

let seq = 0;

export const memoryHarness: StoreHarness = {
  label: 'memory driver',
  driver: defineMemoryDriver,
  freshName: () => `mem-${++seq}`,
};

export const indexedDbHarness: StoreHarness = {
  label: 'IndexedDB driver (fake-indexeddb)',
  driver: async () => localforage.INDEXEDDB,
  freshName: () => `idb-${++seq}`,
};

export function sqliteHarness(): StoreHarness {
  let dir: string | undefined;
  const d = (): string => (dir ??= mkdtempSync(join(tmpdir(), 'sync-engine-store-')));
  return {
    label: 'SQLite driver',
    driver: defineSqliteDriver,
    storeOptions: { aesGcm: nodeAesGcm },
    freshName: () => join(d(), `db-${++seq}.sqlite`),
    rawFileBytes(name) {
      const base = name.split('/').pop() as string;
      return Buffer.concat(
        readdirSync(d())
          .filter((f) => f.startsWith(base))
          .map((f) => readFileSync(join(d(), f))),
      );
    },
    cleanup() {
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
