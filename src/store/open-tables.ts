import localforage from 'localforage';
import type { RecordCipher } from '../crypto/record-cipher';
import type { RangeCapableForage } from '../drivers/range-driver';
import { toStorageError } from '../drivers/storage-errors';
import { addIndexedDbExtras } from '../drivers/indexeddb-extras';
import { STORE_TABLES } from './op-store-options';
import { SealedTable, type SealedTableOptions } from './sealed-table';

/** Meta records whose opened text is remembered (the lock's and the fence's, a few of the app's). */
const META_REMEMBERED = 16;

/** The four tables of one store. */
export interface SealedTables {
  /** Key = op id (a UUIDv7, so key order is enqueue order). */
  readonly pending: SealedTable;
  /** The dead-letter queue; key = the op's pending key. */
  readonly failed: SealedTable;
  /** The idempotency ledger; key = idempotency key. */
  readonly ledger: SealedTable;
  readonly meta: SealedTable;
}

/**
 * Open the four tables (one localforage store each, in one database
 * `name`), sealing with `cipher`. On failure, what did open is closed and a
 * `StorageError` rejects.
 *
 * @example
 * const tables = await openTables('app', [localforage.INDEXEDDB], {}, cipher);
 */
export async function openTables(
  name: string,
  driver: string[],
  extra: Readonly<Record<string, unknown>>,
  cipher: RecordCipher,
): Promise<SealedTables> {
  const opened: RangeCapableForage[] = [];
  const make = async (storeName: string, options?: SealedTableOptions): Promise<SealedTable> => {
    const f = localforage.createInstance({ ...extra, name, storeName, driver }) as RangeCapableForage;
    // Opened one after another: with IndexedDB each new store is a version
    // upgrade of the same database, which must not race another upgrade.
    await f.ready();
    opened.push(f);
    // On IndexedDB: group commit and one-transaction completion, as on SQLite.
    return new SealedTable(storeName, addIndexedDbExtras(f), cipher, options);
  };
  try {
    const pending = await make(STORE_TABLES.pending);
    const failed = await make(STORE_TABLES.failed);
    const ledger = await make(STORE_TABLES.ledger);
    // Read before every send (the lock's fence): its few records are read far more often than written.
    const meta = await make(STORE_TABLES.meta, { rememberOpened: META_REMEMBERED });
    // Touch every table once so connections swapped by those upgrades are
    // re-established before the first real read. `key(0)` reads one key:
    // `length()` would count every row (a table scan on SQLite, tens of ms
    // with 200,000 ops queued) to learn nothing.
    await Promise.all(opened.map((f) => f.key(0)));
    return { pending, failed, ledger, meta };
  } catch (err) {
    // Release what did open (file handles) before reporting.
    for (const f of opened) await f.closeInstance?.().catch(() => undefined);
    throw toStorageError(err);
  }
}

/** Close every table's handle, one after another; never rejects. */
export async function closeTables(tables: SealedTables): Promise<void> {
  for (const table of [tables.pending, tables.failed, tables.ledger, tables.meta]) await table.close();
}
