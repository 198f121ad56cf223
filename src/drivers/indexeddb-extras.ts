import localforage from 'localforage';
import type { RangeCapableForage } from './range-driver';

/** What localforage's IndexedDB driver keeps on an instance: the database's shared connection and the object store. */
interface IdbDbInfo {
  readonly db?: IDBDatabase | null;
  readonly storeName?: string;
}

/** An instance's open connection and object store name. */
export interface IdbHandle {
  readonly db: IDBDatabase;
  readonly storeName: string;
}

/**
 * The connection and object store of a localforage IndexedDB instance, or
 * undefined when it has none (not ready, or another driver). localforage
 * shares one connection between the instances of a database and swaps it
 * after a version upgrade (a new table) or a `versionchange` from another
 * tab; callers that meet a closed one let localforage reconnect
 * (`addIndexedDbExtras`, `readRange`).
 *
 * @example
 * const h = idbHandle(forage);
 * if (h) h.db.transaction(h.storeName, 'readonly');
 */
export function idbHandle(forage: LocalForage): IdbHandle | undefined {
  const info = (forage as unknown as { _dbInfo?: IdbDbInfo })._dbInfo;
  return info?.db && info.storeName ? { db: info.db, storeName: info.storeName } : undefined;
}

/** The connection was closed under us (or never opened): nothing was written, a retry on a new one is safe. */
class ConnectionGone extends Error {
  override readonly name = 'ConnectionGone';
}

/** Writes of one transaction, issued synchronously on it (IndexedDB commits a transaction left without requests). */
type TxBody = (tx: IDBTransaction) => void;

/**
 * One read-write transaction over `storeNames` of `forage`'s database:
 * resolves on `complete` (everything written), rejects on `abort` or a
 * request error (nothing written: IndexedDB rolls the whole transaction
 * back). A connection closed under us is reopened by localforage (its own
 * methods reconnect) and the transaction is tried once more: it never
 * started, so nothing is written twice.
 */
async function transact(forage: LocalForage, storeNames: readonly string[], body: TxBody): Promise<void> {
  try {
    return await attempt(forage, storeNames, body);
  } catch (err) {
    if (!(err instanceof ConnectionGone)) throw err;
    // `key(0)` reads one key; through localforage it re-establishes the
    // connection every instance of the database shares.
    await forage.key(0);
    return attempt(forage, storeNames, body);
  }
}

function attempt(forage: LocalForage, storeNames: readonly string[], body: TxBody): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const h = idbHandle(forage);
    let tx: IDBTransaction;
    try {
      if (!h) throw new ConnectionGone('no IndexedDB connection');
      tx = h.db.transaction([...storeNames], 'readwrite');
    } catch (err) {
      const name = (err as { name?: unknown } | null)?.name;
      // InvalidStateError: closed connection; NotFoundError: a connection
      // from before the upgrade that created the store.
      if (err instanceof ConnectionGone || name === 'InvalidStateError' || name === 'NotFoundError') reject(new ConnectionGone(String(name)));
      else reject(err);
      return;
    }
    tx.oncomplete = () => resolve();
    tx.onabort = () => reject(tx.error ?? new DOMException('transaction aborted', 'AbortError'));
    try {
      body(tx);
    } catch (err) {
      // E.g. DataCloneError from `put`: undo what the body already issued.
      reject(err);
      tx.abort();
    }
  });
}

// localforage's IndexedDB layout: the value as is (null stored as
// undefined), the key as a string.
const stored = (value: unknown): unknown => (value === null ? undefined : value);

/**
 * `setItems` for localforage's IndexedDB driver: every entry in one
 * transaction, all durable or none written (group commit of appends).
 */
function setItems(this: LocalForage, entries: ReadonlyArray<readonly [string, unknown]>): Promise<void> {
  const storeName = this.config('storeName') as string;
  return transact(this, [storeName], (tx) => {
    const store = tx.objectStore(storeName);
    for (const [key, value] of entries) store.put(stored(value), String(key));
  });
}

/**
 * `setAndRemove` for localforage's IndexedDB driver: `key` → `value` in
 * this instance's object store and `otherKey` out of `other`'s, in one
 * transaction across both object stores of the same database.
 */
function setAndRemove(this: LocalForage, key: string, value: unknown, other: RangeCapableForage, otherKey: string): Promise<void> {
  return setAllAndRemove.call(this, [[key, value]], other, [otherKey]);
}

/**
 * `setAllAndRemove` for localforage's IndexedDB driver: every entry into
 * this instance's object store and every key of `otherKeys` out of
 * `other`'s, in one transaction across both object stores of the same
 * database.
 */
function setAllAndRemove(
  this: LocalForage,
  entries: ReadonlyArray<readonly [string, unknown]>,
  other: RangeCapableForage,
  otherKeys: readonly string[],
): Promise<void> {
  const mine = this.config('storeName') as string;
  const theirs = other.config('storeName') as string;
  if (other.driver() !== localforage.INDEXEDDB || other.config('name') !== this.config('name')) {
    return Promise.reject(new Error('setAndRemove: the other instance is not in the same database'));
  }
  return transact(this, [mine, theirs], (tx) => {
    // The sets first: if one throws (a value IndexedDB cannot clone), the
    // transaction is aborted before any removal is even issued.
    const store = tx.objectStore(mine);
    for (const [key, value] of entries) store.put(stored(value), String(key));
    const from = tx.objectStore(theirs);
    for (const key of otherKeys) from.delete(String(key));
  });
}

/**
 * Give a localforage IndexedDB instance the extras the SQLite and memory
 * drivers carry (`RangeDriverExtras`): `setItems` (appends of one tick in
 * one transaction) and `setAndRemove` (ledger entry and removal of the
 * completed op in one transaction across two object stores, so nothing is
 * ever pending and completed at once; `setAllAndRemove` does the same for
 * several completed ops in one transaction). They write through the connection
 * localforage opened, in its driver's layout (database `name`, one object
 * store per `storeName`, the value stored as is under its key): records
 * written either way read back either way, and a database created by an
 * earlier version opens unchanged. Any other driver's instance is returned
 * untouched.
 *
 * @example
 * const f = addIndexedDbExtras(localforage.createInstance({ name: 'app', storeName: 'idempotency_ledger' }));
 * await f.setAndRemove?.(key, sealedEntry, pending, opId); // both or neither
 */
export function addIndexedDbExtras(forage: RangeCapableForage): RangeCapableForage {
  if (forage.driver() !== localforage.INDEXEDDB) return forage;
  return Object.assign(forage, { setItems, setAndRemove, setAllAndRemove });
}
