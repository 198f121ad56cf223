/**
 * sync-engine for Node and Electron: the SQLite driver and a store opened on
 * it, and the Node transport. This entry point may use Node built-ins; the
 * core never does. Loading it makes `nodeFetch()` (TLS ≥ 1.3 to non-loopback
 * hosts) the engine's default fetch in this process.
 */
import { openSync, readFileSync, writeSync, closeSync } from 'node:fs';
import { setDefaultFetch } from '../api/default-fetch';
import { importStoreKey } from '../crypto/record-cipher';
import { createOpStore, type SealedOpStore } from '../store/create-op-store';
import type { OpStoreOptions } from '../store/op-store-options';
import { defineSqliteDriver, type SqliteSynchronous } from './sqlite-driver';
import { nodeAesGcm } from './node-aes-gcm';
import { nodeFetch } from './node-fetch';

// The spec's TLS floor for every engine of this process that is not given a fetch.
setDefaultFetch(nodeFetch());

export { nodeFetch } from './node-fetch';
export type { NodeFetchOptions, MinTlsVersion } from './node-fetch';
export { defineSqliteDriver, SQLITE_DRIVER, SQLITE_BUSY_DEFAULTS } from './sqlite-driver';
export { nodeAesGcm } from './node-aes-gcm';
export type { SqliteSynchronous, SqliteDriverConfig } from './sqlite-driver';

/** Options of `createSqliteOpStore`. */
export interface SqliteOpStoreOptions extends Omit<OpStoreOptions, 'name' | 'driver' | 'driverOptions'> {
  /**
   * Where to keep the key when `encryptionKey` is not given: a file made
   * once (mode 0600) with 32 random bytes. Default: `<path>.key`. The key is
   * then only as safe as that file; pass your own `CryptoKey` (e.g. from the
   * OS keychain) to do better.
   */
  readonly keyFile?: string;
  /** SQLite `synchronous`. Default `'FULL'` (a resolved write survives power loss). */
  readonly synchronous?: SqliteSynchronous;
  /** Extra pragmas run once when the file is opened, e.g. `['cache_size = -8000']`. */
  readonly pragmas?: readonly string[];
  /**
   * Longest wait, ms, of one statement for another process's lock on the
   * thread (SQLite `busy_timeout`). Default 20; longer waits are retries on
   * `scheduler` that leave the event loop free.
   */
  readonly busyTimeoutMs?: number;
  /** A call still locked out after this long, ms, rejects with `StorageError('busy')`. Default 5000. */
  readonly busyRetryMs?: number;
}

/**
 * Open the operation store on a SQLite file (WAL mode).
 *
 * @example
 * const store = await createSqliteOpStore('./data/queue.sqlite');
 */
export async function createSqliteOpStore(path: string, options: SqliteOpStoreOptions = {}): Promise<SealedOpStore> {
  const { keyFile, synchronous, pragmas, busyTimeoutMs, busyRetryMs, ...storeOptions } = options;
  const driver = await defineSqliteDriver();
  const encryptionKey = options.encryptionKey ?? (await loadOrCreateKeyFile(keyFile ?? `${path}.key`));
  return createOpStore({
    aesGcm: nodeAesGcm,
    ...storeOptions,
    name: path,
    driver,
    encryptionKey,
    driverOptions: {
      sqliteSynchronous: synchronous ?? 'FULL',
      sqlitePragmas: pragmas ?? [],
      ...(busyTimeoutMs === undefined ? {} : { sqliteBusyTimeoutMs: busyTimeoutMs }),
      ...(busyRetryMs === undefined ? {} : { sqliteBusyRetryMs: busyRetryMs }),
      // The busy retries wait on the store's scheduler.
      ...(options.scheduler === undefined ? {} : { sqliteScheduler: options.scheduler }),
    },
  });
}

/**
 * Read the raw AES-256 key kept in `file`, creating it (exclusively, mode
 * 0600, fsynced) on first use. Concurrent first opens agree: only one
 * process creates the file, the others read it. Imported non-extractable.
 *
 * @example
 * const encryptionKey = await loadOrCreateKeyFile('/var/lib/app/queue.key');
 */
export async function loadOrCreateKeyFile(file: string): Promise<CryptoKey> {
  let raw: Uint8Array<ArrayBuffer>;
  try {
    const fresh = globalThis.crypto.getRandomValues(new Uint8Array(32));
    const fd = openSync(file, 'wx', 0o600);
    try {
      writeSync(fd, Buffer.from(fresh).toString('base64'));
    } finally {
      closeSync(fd);
    }
    raw = fresh;
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'EEXIST') throw err;
    raw = new Uint8Array(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64'));
  }
  // A file of another length: ValidationError('invalidOptions') with the length.
  return importStoreKey(raw);
}
