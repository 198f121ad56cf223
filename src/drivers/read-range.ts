import localforage from 'localforage';
import type { RangeCapableForage } from './range-driver';
import { idbHandle } from './indexeddb-extras';

type Entry = readonly [string, unknown];

/**
 * Up to `limit` entries of `forage` with key strictly after `afterKey`, in
 * key order, without loading the rest of the table:
 * - a driver with `readRange` (SQLite, memory) answers with a keyed range
 *   (`WHERE key > ? ORDER BY key LIMIT ?`);
 * - localforage's IndexedDB driver gets `getAll`/`getAllKeys` over an
 *   `IDBKeyRange` in one read-only transaction;
 * - any other driver is walked with `iterate` (key order, stops early), which
 *   keeps memory bounded but costs time proportional to `afterKey`'s position.
 */
export async function readRange(forage: RangeCapableForage, afterKey: string | null, limit: number): Promise<Entry[]> {
  if (limit <= 0) return [];
  if (typeof forage.readRange === 'function') return [...(await forage.readRange(afterKey, limit))];
  if (forage.driver() === localforage.INDEXEDDB) {
    try {
      return await idbRange(forage, afterKey, limit);
    } catch {
      // The connection may have been swapped by a version upgrade (another
      // table created in the same database); localforage's own methods
      // reconnect, so fall through to them.
    }
  }
  return iterateRange(forage, afterKey, limit);
}

async function iterateRange(forage: LocalForage, afterKey: string | null, limit: number): Promise<Entry[]> {
  const out: Entry[] = [];
  await forage.iterate<unknown, true | undefined>((value, key) => {
    if (afterKey !== null && key <= afterKey) return undefined;
    out.push([key, value]);
    return out.length >= limit ? true : undefined;
  });
  return out;
}

function idbRange(forage: LocalForage, afterKey: string | null, limit: number): Promise<Entry[]> {
  const h = idbHandle(forage);
  if (!h) return Promise.reject(new Error('no IndexedDB connection'));
  const { db, storeName } = h;
  return new Promise<Entry[]>((resolve, reject) => {
    const tx = db.transaction(storeName, 'readonly');
    const store = tx.objectStore(storeName);
    const range = afterKey === null ? undefined : IDBKeyRange.lowerBound(afterKey, true);
    const keysReq = store.getAllKeys(range, limit);
    const valuesReq = store.getAll(range, limit);
    tx.oncomplete = () => {
      const keys = keysReq.result;
      const values = valuesReq.result;
      resolve(keys.map((k, i) => [String(k), values[i]] as const));
    };
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}
