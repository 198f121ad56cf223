import localforage from 'localforage';
import { Subject, type Observable } from 'rxjs';
import * as E from '../fp/either';
import * as t from 'io-ts';
import type { Completion, FailedOps, FailureInfo, OpStore, StoreChange, StoreCounts } from './op-store';
import { OP_STORE_DEFAULTS, type OpStoreOptions } from './op-store-options';
import { closeTables, openTables, type SealedTables } from './open-tables';
import { checkKey } from './check-key';
import { repairAfterCrash } from './crash-repair';
import { GroupCommit } from './group-commit';
import { DeadLetterQueue } from './dead-letter-queue';
import { ledgerTables } from './ledger-tables';
import { appMetaKey } from './meta-keys';
import { codecDecoder, decodeStoredOp, serializeOp } from './stored-records';
import { IdempotencyLedger } from '../idempotency/ledger';
import type { OpId, PendingOp } from '../op/pending-op';
import { assertDefaultDriverAvailable } from './default-driver-check';
import { StorageError, ValidationError } from '../errors/sync-error';
import { RecordCipher } from '../crypto/record-cipher';
import { loadOrCreateDeviceKey } from '../crypto/device-key';
import { toStorageError } from '../drivers/storage-errors';
import { pause } from '../drivers/pause';
import { QuotaReserve } from './quota-reserve';

/** Pending records decrypted per read when paging with `peek`. */
const PEEK_PAGE = 100;

const decodeAppMeta = codecDecoder(t.type({ value: t.unknown }));

/**
 * The store `createOpStore` returns, on any localforage driver (IndexedDB,
 * SQLite, memory): the `OpStore` contract, every record sealed, plus
 * maintenance extras.
 */
export interface SealedOpStore extends OpStore {
  /** Remove ledger entries older than `ledgerTtlMs`; resolves with how many. */
  pruneLedger(): Promise<number>;
}

/** @deprecated Renamed `SealedOpStore` (it serves SQLite too); this alias goes in the next major version. */
export type LocalForageOpStore = SealedOpStore;

/**
 * Open (and repair) the durable, encrypted operation store on localforage.
 *
 * Tables (one localforage store each, in one database `name`):
 * `pending_ops` (key = op id, a UUIDv7, so key order is enqueue order),
 * `failed_ops` (key = the op's pending key), `idempotency_ledger`
 * (key = idempotency key) and `meta`. Every value is AES-GCM sealed with the
 * record's table and key as AAD (`SealedTable`).
 *
 * Opening checks the key against an encrypted canary (wrong key → rejects
 * with `StorageError('wrongKey')` and touches nothing, `checkKey`), then
 * finishes any `complete`/`fail`/`retry` cut short by a crash
 * (`repairAfterCrash`) — touching only what a crash can have left, never
 * every record: opening costs the same with 200,000 ops queued or in the
 * ledger as with none. The ledger is pruned in the background (first
 * `complete` after open, then at most every `ledgerPruneIntervalMs`), a
 * page at a time, yielding between pages (`IdempotencyLedger`).
 *
 * @example
 * const driver = await defineMemoryDriver();
 * const store = await createOpStore({ name: 'app', driver, encryptionKey: await generateStoreKey() });
 * await store.append(op);
 * const [head] = await store.peek(1);
 */
export async function createOpStore(options: OpStoreOptions): Promise<SealedOpStore> {
  assertDefaultDriverAvailable(options.driver);
  const reserveBytes = options.quotaReserveBytes ?? OP_STORE_DEFAULTS.quotaReserveBytes;
  if (!Number.isSafeInteger(reserveBytes) || reserveBytes < 0) {
    throw new ValidationError('invalidOptions', 'quotaReserveBytes: expected a non-negative integer');
  }
  const drivers = options.driver === undefined ? [localforage.INDEXEDDB] : [options.driver].flat();
  const key = options.encryptionKey ?? (await deviceKey(options.name));
  const tables = await openTables(options.name, drivers, options.driverOptions ?? {}, new RecordCipher(key, options.aesGcm));
  const scheduler = options.scheduler ?? OP_STORE_DEFAULTS.scheduler;
  const now = options.now ?? OP_STORE_DEFAULTS.now;
  const ledger = new IdempotencyLedger(ledgerTables(tables), {
    now,
    ttlMs: options.ledgerTtlMs ?? OP_STORE_DEFAULTS.ledgerTtlMs,
    pruneIntervalMs: options.ledgerPruneIntervalMs ?? OP_STORE_DEFAULTS.ledgerPruneIntervalMs,
    yieldBetweenPages: () => pause(scheduler),
  });
  const reserve = new QuotaReserve(tables.meta, reserveBytes);
  const store = new Store(options.name, tables, ledger, now, reserve);
  try {
    await repairAfterCrash(tables, ledger, await checkKey(tables));
  } catch (err) {
    await store.close();
    throw toStorageError(err);
  }
  await reserve.refill();
  return store;
}

async function deviceKey(name: string): Promise<CryptoKey> {
  if (typeof globalThis.indexedDB === 'undefined') {
    throw new ValidationError('invalidOptions', 'encryptionKey is required where IndexedDB is unavailable');
  }
  try {
    return await loadOrCreateDeviceKey(name);
  } catch (err) {
    throw toStorageError(err);
  }
}

/** The composition: queue operations on the sealed tables, the ledger and the dead-letter queue behind one guard. */
class Store implements SealedOpStore {
  readonly #t: SealedTables;
  readonly #ledger: IdempotencyLedger;
  readonly #dlq: DeadLetterQueue;
  readonly #reserve: QuotaReserve;
  /** Null where the driver cannot write a batch atomically: then each append is its own write. */
  readonly #commits: GroupCommit | null;
  readonly #changes = new Subject<StoreChange>();
  readonly changes$: Observable<StoreChange> = this.#changes.asObservable();
  readonly failed: FailedOps;
  readonly completesAtomically: boolean;
  /** Present where the driver completes several ops in one transaction (`setAllAndRemove`). */
  readonly completeAll?: (done: ReadonlyArray<Completion>) => Promise<void>;
  #closed = false;

  constructor(
    readonly name: string,
    tables: SealedTables,
    ledger: IdempotencyLedger,
    now: () => number,
    reserve: QuotaReserve,
  ) {
    this.#t = tables;
    this.#reserve = reserve;
    this.#ledger = ledger;
    this.#dlq = new DeadLetterQueue(tables, { now, emit: (change) => this.#emit(change) });
    const { forage } = tables.pending;
    const setItems = forage.setItems;
    this.#commits = typeof setItems === 'function' ? new GroupCommit((entries) => setItems.call(forage, entries)) : null;
    this.completesAtomically = ledger.completesAtomically;
    if (ledger.recordsManyAtomically) this.completeAll = (done) => this.#completeAll(done);
    this.failed = {
      list: () => this.#guard(() => this.#dlq.list()),
      retry: (id) => this.#guard(() => this.#dlq.retry(id)),
      discard: (id) => this.#guard(() => this.#dlq.discard(id)),
    };
  }

  append(op: PendingOp): Promise<void> {
    return this.#guard(async () => {
      const json = serializeOp(op);
      const sealed = this.#t.pending.seal(op.id, json);
      if (this.#commits) await this.#commits.add(op.id, sealed);
      else await this.#t.pending.forage.setItem(op.id, await sealed);
      this.#emit({ type: 'appended', op });
    });
  }

  peek(n: number, afterId?: OpId): Promise<readonly PendingOp[]> {
    return this.#guard(async () => {
      const { pending } = this.#t;
      const out: PendingOp[] = [];
      let cursor: string | null = afterId ?? null;
      while (out.length < n) {
        const page = await pending.page(cursor, Math.min(PEEK_PAGE, n - out.length));
        if (page.length === 0) break;
        const opened = await Promise.all(page.map(([key, value]) => pending.open(key, value, decodeStoredOp)));
        for (let i = 0; i < page.length; i++) {
          const [key, value] = page[i] as readonly [string, unknown];
          const r = opened[i] as E.Either<string, PendingOp>;
          if (E.isRight(r)) out.push(r.right);
          else await this.#dlq.quarantine(key, value, r.left);
        }
        cursor = (page[page.length - 1] as readonly [string, unknown])[0];
      }
      return out;
    });
  }

  update(op: PendingOp): Promise<void> {
    return this.#replace(op, 'updated');
  }

  rewrite(op: PendingOp): Promise<void> {
    return this.#replace(op, 'rewritten');
  }

  complete(op: PendingOp, completedAt: number): Promise<void> {
    return this.#completeAll([{ op, completedAt }]);
  }

  #completeAll(done: ReadonlyArray<Completion>): Promise<void> {
    return this.#guard(async () => {
      // No reserve needed: refused for quota, the commit removes the op first (ledgerTables).
      const [one] = done;
      if (done.length === 1 && one !== undefined) await this.#ledger.record(one.op, one.completedAt);
      else await this.#ledger.recordAll(done);
      for (const { op } of done) this.#emit({ type: 'completed', op });
      this.#ledger.schedulePrune();
      // The ops' records are gone: room, perhaps, for the reserve again.
      void this.#reserve.refill();
    });
  }

  fail(op: PendingOp, failure: FailureInfo): Promise<void> {
    return this.#guard(async () => {
      await this.#reserve.spendOnQuota(() => this.#dlq.fail(op, failure));
      void this.#reserve.refill();
    });
  }

  isCompleted(idempotencyKey: string): Promise<boolean> {
    return this.#guard(() => this.#ledger.has(idempotencyKey));
  }

  counts(): Promise<StoreCounts> {
    return this.#guard(async () => {
      const [pending, failed] = await Promise.all([this.#t.pending.length(), this.#t.failed.length()]);
      return { pending, failed };
    });
  }

  readMeta<T>(key: string): Promise<T | undefined> {
    return this.#guard(async () => {
      const v = await this.#t.meta.read(appMetaKey(key), decodeAppMeta);
      return v === undefined ? undefined : (v.value as T);
    });
  }

  writeMeta<T>(key: string, value: T): Promise<void> {
    return this.#guard(async () => {
      let json: string;
      try {
        json = JSON.stringify({ value });
      } catch {
        throw new ValidationError('notSerializable', 'meta value');
      }
      // The lock's fence bump and records: sending needs them, so they may spend the reserve.
      await this.#reserve.spendOnQuota(() => this.#t.meta.write(appMetaKey(key), json));
    });
  }

  pruneLedger(): Promise<number> {
    return this.#guard(() => this.#ledger.prune());
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const pruned = this.#ledger.close();
    // Appends already accepted are written before the handles go.
    await this.#commits?.flush();
    await pruned;
    await this.#reserve.settle();
    this.#changes.complete();
    await closeTables(this.#t);
  }

  /** `update` and `rewrite`: one write, never resurrecting an op that completed, failed or was quarantined meanwhile. */
  #replace(op: PendingOp, type: 'updated' | 'rewritten'): Promise<void> {
    return this.#guard(async () => {
      const json = serializeOp(op);
      if (!(await this.#t.pending.has(op.id))) return;
      await this.#reserve.spendOnQuota(() => this.#t.pending.write(op.id, json));
      this.#emit({ type, op });
    });
  }

  #emit(change: StoreChange): void {
    if (!this.#closed) this.#changes.next(change);
  }

  async #guard<A>(fn: () => Promise<A>): Promise<A> {
    if (this.#closed) throw new StorageError('closed');
    try {
      return await fn();
    } catch (err) {
      if (err instanceof ValidationError) throw err;
      throw toStorageError(err);
    }
  }
}
