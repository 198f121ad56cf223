import { asyncScheduler, type SchedulerLike } from 'rxjs';
import type { AesGcmEngine } from '../crypto/aes-gcm-engine';

/** Options of `createOpStore`. */
export interface OpStoreOptions {
  /** Database name (for the SQLite driver: the database file path). */
  readonly name: string;
  /**
   * localforage driver name(s), tried in order; a custom driver must be
   * defined first (`defineMemoryDriver()`, `defineSqliteDriver()`).
   * Default: `[localforage.INDEXEDDB]`.
   */
  readonly driver?: string | readonly string[];
  /**
   * AES-GCM 256 key for every record. Default: in browsers, a
   * non-extractable key made once and kept in IndexedDB
   * (`loadOrCreateDeviceKey(name)`); elsewhere it is required.
   */
  readonly encryptionKey?: CryptoKey;
  /**
   * The AES-GCM implementation. Default: Web Crypto. The Node entry point
   * passes `nodeAesGcm` (same records, synchronous `node:crypto`).
   */
  readonly aesGcm?: AesGcmEngine;
  /** Clock, epoch ms (ledger pruning, quarantine times). Default: `asyncScheduler.now()`. */
  readonly now?: () => number;
  /**
   * Where the ledger prune, a walk over every entry, gives the event loop
   * back between two pages (a zero-delay action per page), so it never
   * holds the main thread for more than one page. Default: `asyncScheduler`.
   */
  readonly scheduler?: SchedulerLike;
  /** How long a completed idempotency key stays in the ledger, ms. Default: 24 h. */
  readonly ledgerTtlMs?: number;
  /** Minimum time between two ledger prunes done by `complete()`, ms. Default: 1 h. */
  readonly ledgerPruneIntervalMs?: number;
  /**
   * Bytes kept aside in the store (a sealed ballast record) for the writes
   * sending needs once the storage quota is exhausted: the lock's fence
   * bump, attempt bookkeeping, dead-letter moves (a completion removes
   * the op first instead). A write refused for quota deletes the ballast
   * and is tried once more; `append` never spends it. Written again after
   * a completion frees room. `0` disables it. Default: 64 KiB (`docs/operating.md`, "A full browser quota").
   */
  readonly quotaReserveBytes?: number;
  /** Extra localforage config handed to the driver (e.g. `{ sqliteSynchronous: 'NORMAL' }`). */
  readonly driverOptions?: Readonly<Record<string, unknown>>;
}

/** Defaults of `OpStoreOptions`. */
export const OP_STORE_DEFAULTS: Readonly<Required<Pick<OpStoreOptions, 'now' | 'scheduler' | 'ledgerTtlMs' | 'ledgerPruneIntervalMs' | 'quotaReserveBytes'>>> =
  Object.freeze({
    now: () => asyncScheduler.now(),
    scheduler: asyncScheduler,
    ledgerTtlMs: 24 * 60 * 60 * 1000,
    ledgerPruneIntervalMs: 60 * 60 * 1000,
    quotaReserveBytes: 64 * 1024,
  });

/** The localforage store name of each table. */
export const STORE_TABLES = Object.freeze({
  pending: 'pending_ops',
  failed: 'failed_ops',
  ledger: 'idempotency_ledger',
  meta: 'meta',
} as const);

/** Layout version of the store (tables, record shapes, meta keys). */
export const STORE_SCHEMA_VERSION = 1 as const;
