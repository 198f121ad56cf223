import localforage from 'localforage';
import { Subject, type Observable, type SchedulerLike } from 'rxjs';
import * as E from 'fp-ts/Either';
import { pipe } from 'fp-ts/function';
import * as t from 'io-ts';
import type { FailedOps, FailedRecord, FailureInfo, OpStore, StoreChange, StoreCounts } from './op-store';
import { OP_STORE_DEFAULTS, STORE_SCHEMA_VERSION, STORE_TABLES, type OpStoreOptions } from './op-store-options';
import {
  LedgerEntryCodec,
  RetryIntentCodec,
  decodeFailedRecord,
  parseJson,
  type LedgerEntry,
  type RetryIntent,
} from './stored-records';
import { assertDefaultDriverAvailable } from './default-driver-check';
import { retriedOp } from './retried-op';
import { decodePendingOp, type OpId, type PendingOp } from '../op/pending-op';
import { StorageError, ValidationError } from '../errors/sync-error';
import { RecordCipher } from '../crypto/record-cipher';
import { loadOrCreateDeviceKey } from '../crypto/device-key';
import { readRange } from '../drivers/read-range';
import { toStorageError } from '../drivers/storage-errors';
import { pause } from '../drivers/pause';
import type { RangeCapableForage } from '../drivers/range-driver';

// Meta keys: the store's own records live under `sys:`, the app's (lock
// record, counters) under `app:`, so `writeMeta` can never clobber the canary.
const CANARY_KEY = 'sys:canary';
const SCHEMA_KEY = 'sys:schema';
const RETRY_PREFIX = 'sys:retry:';
const appMetaKey = (key: string): string => `app:${key}`;
const CANARY_TEXT = 'sync-engine canary v1';

/** Pending records decrypted per read when paging with `peek`. */
const PEEK_PAGE = 100;
/** Ledger entries read (and decrypted) per page while pruning; the prune yields between pages. */
const LEDGER_PAGE = 100;
/**
 * Pending ops checked against the ledger at open where `complete` is two
 * writes (IndexedDB). Completions are written one at a time in FIFO order
 * (the settle lane), so the op a crash can leave half-completed is the head
 * of the queue, or next to it (a holder whose lock was taken over, ops
 * another process enqueued in the same millisecond): a page covers that
 * window many times over.
 */
const REPAIR_WINDOW = PEEK_PAGE;

/**
 * The store implementation returned by `createOpStore`: the `OpStore`
 * contract plus maintenance extras.
 */
export interface LocalForageOpStore extends OpStore {
  /** Remove ledger entries older than `ledgerTtlMs`; resolves with how many. */
  pruneLedger(): Promise<number>;
}

interface Tables {
  readonly pending: RangeCapableForage;
  readonly failed: RangeCapableForage;
  readonly ledger: RangeCapableForage;
  readonly meta: RangeCapableForage;
}

type Opened<A> = E.Either<string, A>;

/**
 * Open (and repair) the durable, encrypted operation store on localforage.
 *
 * Tables (one localforage store each, in one database `name`):
 * `pending_ops` (key = op id, a UUIDv7, so key order is enqueue order),
 * `failed_ops` (key = the op's pending key), `idempotency_ledger`
 * (key = idempotency key) and `meta`. Every value is AES-GCM sealed with the
 * record's table and key as AAD.
 *
 * Opening checks the key against an encrypted canary (wrong key → rejects
 * with `StorageError('wrongKey')` and touches nothing), then finishes any
 * `complete`/`fail`/`retry` cut short by a crash — touching only what a crash
 * can have left, never every record: opening costs the same with 200,000
 * ops queued or in the ledger as with none. The ledger is pruned in the
 * background (first `complete` after open, then at most every
 * `ledgerPruneIntervalMs`), a page at a time, yielding between pages.
 *
 * @example
 * const driver = await defineMemoryDriver();
 * const store = await createOpStore({ name: 'app', driver, encryptionKey: await generateStoreKey() });
 * await store.append(op);
 * const [head] = await store.peek(1);
 */
export async function createOpStore(options: OpStoreOptions): Promise<LocalForageOpStore> {
  assertDefaultDriverAvailable(options.driver);
  const drivers = options.driver === undefined ? [localforage.INDEXEDDB] : [options.driver].flat();
  let key = options.encryptionKey;
  if (!key) {
    if (typeof globalThis.indexedDB === 'undefined') {
      throw new ValidationError('invalidOptions', 'encryptionKey is required where IndexedDB is unavailable');
    }
    try {
      key = await loadOrCreateDeviceKey(options.name);
    } catch (err) {
      throw toStorageError(err);
    }
  }
  const tables = await openTables(options.name, drivers, options.driverOptions ?? {});
  const store = new Store(tables, new RecordCipher(key, options.aesGcm), {
    now: options.now ?? OP_STORE_DEFAULTS.now,
    scheduler: options.scheduler ?? OP_STORE_DEFAULTS.scheduler,
    ledgerTtlMs: options.ledgerTtlMs ?? OP_STORE_DEFAULTS.ledgerTtlMs,
    ledgerPruneIntervalMs: options.ledgerPruneIntervalMs ?? OP_STORE_DEFAULTS.ledgerPruneIntervalMs,
  });
  try {
    await store.open();
  } catch (err) {
    await store.close();
    throw toStorageError(err);
  }
  return store;
}

async function openTables(name: string, driver: string[], extra: Readonly<Record<string, unknown>>): Promise<Tables> {
  const opened: RangeCapableForage[] = [];
  const make = async (storeName: string): Promise<RangeCapableForage> => {
    const f = localforage.createInstance({ ...extra, name, storeName, driver }) as RangeCapableForage;
    // Opened one after another: with IndexedDB each new store is a version
    // upgrade of the same database, which must not race another upgrade.
    await f.ready();
    opened.push(f);
    return f;
  };
  try {
    const pending = await make(STORE_TABLES.pending);
    const failed = await make(STORE_TABLES.failed);
    const ledger = await make(STORE_TABLES.ledger);
    const meta = await make(STORE_TABLES.meta);
    // Touch every table once so connections swapped by those upgrades are
    // re-established before the first real read. `key(0)` reads one key:
    // `length()` would count every row (a table scan on SQLite, tens of ms
    // with 200,000 ops queued) to learn nothing.
    await Promise.all([pending.key(0), failed.key(0), ledger.key(0), meta.key(0)]);
    return { pending, failed, ledger, meta };
  } catch (err) {
    // Release what did open (file handles) before reporting.
    for (const f of opened) await f.closeInstance?.().catch(() => undefined);
    throw toStorageError(err);
  }
}

interface PendingAppend {
  readonly key: string;
  readonly sealed: Promise<string>;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

interface Clock {
  readonly now: () => number;
  /** Where the prune yields between pages. */
  readonly scheduler: SchedulerLike;
  readonly ledgerTtlMs: number;
  readonly ledgerPruneIntervalMs: number;
}

class Store implements LocalForageOpStore {
  readonly #t: Tables;
  readonly #cipher: RecordCipher;
  readonly #clock: Clock;
  readonly #changes = new Subject<StoreChange>();
  readonly changes$: Observable<StoreChange> = this.#changes.asObservable();
  readonly failed: FailedOps;
  readonly completesAtomically: boolean;
  #closed = false;
  #lastPruneAt = Number.NEGATIVE_INFINITY;
  #pruning: Promise<unknown> | null = null;
  readonly #quarantining = new Set<string>();
  readonly #retrying = new Map<string, Promise<PendingOp>>();
  readonly #batch: PendingAppend[] = [];
  #flushing: Promise<void> | null = null;

  constructor(tables: Tables, cipher: RecordCipher, clock: Clock) {
    this.#t = tables;
    this.#cipher = cipher;
    this.#clock = clock;
    this.completesAtomically = typeof tables.ledger.setAndRemove === 'function';
    this.failed = {
      list: () => this.#guard(() => this.#listFailed()),
      retry: (id) => this.#guard(() => this.#retryOnce(id)),
      discard: (id) => this.#guard(() => this.#discard(id)),
    };
  }

  // ---- open & repair ------------------------------------------------------

  /**
   * Check the key, then repair what a crash may have left half done. No
   * ledger walk: where `complete` is one transaction nothing can be half
   * done; elsewhere only the head of the queue can be (`REPAIR_WINDOW`). The
   * prune runs later, in the background (`#maybePrune`).
   */
  async open(): Promise<void> {
    await this.#checkKey();
    await this.#repairRetries();
    await this.#repairFailedStillPending();
    if (!this.completesAtomically) await this.#repairCompletedAtHead();
  }

  async #checkKey(): Promise<void> {
    const { meta, pending, failed } = this.#t;
    const canary = await meta.getItem<unknown>(CANARY_KEY);
    if (canary !== null) {
      const opened = await this.#cipher.open(STORE_TABLES.meta, CANARY_KEY, canary);
      if (E.isLeft(opened)) {
        throw new StorageError(opened.left.kind === 'auth' ? 'wrongKey' : 'corrupt');
      }
      if (opened.right !== CANARY_TEXT) throw new StorageError('wrongKey');
      const schema = await this.#readSealed(STORE_TABLES.meta, SCHEMA_KEY, t.type({ version: t.number }));
      if (schema !== undefined && schema.version > STORE_SCHEMA_VERSION) {
        // Written by a newer build: refuse rather than misread the layout.
        throw new StorageError('corrupt');
      }
      return;
    }
    // No canary yet. If records exist anyway (meta lost or from a build
    // without one), one of them must open with this key before we vouch for it.
    for (const [table, forage] of [
      [STORE_TABLES.pending, pending],
      [STORE_TABLES.failed, failed],
    ] as const) {
      const [first] = await readRange(forage, null, 1);
      if (first) {
        const opened = await this.#cipher.open(table, first[0], first[1]);
        if (E.isLeft(opened) && opened.left.kind === 'auth') throw new StorageError('wrongKey');
      }
    }
    await this.#writeSealed(STORE_TABLES.meta, SCHEMA_KEY, JSON.stringify({ version: STORE_SCHEMA_VERSION }));
    await meta.setItem(CANARY_KEY, await this.#cipher.seal(STORE_TABLES.meta, CANARY_KEY, CANARY_TEXT));
  }

  /** A retry cut short: new op appended → drop the failed copy; else just forget the intent. */
  async #repairRetries(): Promise<void> {
    const { meta, pending, failed } = this.#t;
    const intents = (await meta.keys()).filter((k) => k.startsWith(RETRY_PREFIX));
    for (const intentKey of intents) {
      const failedId = intentKey.slice(RETRY_PREFIX.length);
      const intent = await this.#readSealed(STORE_TABLES.meta, intentKey, RetryIntentCodec);
      if (intent !== undefined && (await pending.getItem(intent.newId)) !== null) {
        await failed.removeItem(failedId);
      }
      await meta.removeItem(intentKey);
    }
  }

  /** `fail` or a quarantine cut short: the dead-letter copy wins. */
  async #repairFailedStillPending(): Promise<void> {
    const { pending, failed } = this.#t;
    for (const id of await failed.keys()) {
      if ((await pending.getItem(id)) !== null) await pending.removeItem(id);
    }
  }

  /**
   * `complete` cut short between its two writes (IndexedDB): the op is in the
   * ledger, so it leaves pending unsent. Only the head of the queue can be
   * in that state; should anything deeper ever be, the drain's ledger check
   * before each send still completes it without sending.
   */
  async #repairCompletedAtHead(): Promise<void> {
    const head = await readRange(this.#t.pending, null, REPAIR_WINDOW);
    for (const [key, value] of head) {
      const op = await this.#openOp(key, value);
      // An unreadable record is left for `peek` to quarantine.
      if (E.isLeft(op)) continue;
      if ((await this.#t.ledger.getItem(op.right.idempotencyKey)) !== null) await this.#t.pending.removeItem(key);
    }
  }

  async #dropCompletedFromPending(opId: string): Promise<void> {
    if ((await this.#t.pending.getItem(opId)) !== null) await this.#t.pending.removeItem(opId);
  }

  /**
   * Walk the ledger a page at a time, removing expired entries: memory stays
   * bounded however many keys 24 h of traffic left, and the event loop is
   * given back between pages (keys are random UUIDs, so expiry cannot be
   * read from key order: every entry is decrypted, one page per task). Stops
   * early when the store closes. Returns how many entries expired.
   */
  async #walkLedger(): Promise<number> {
    const cutoff = this.#clock.now() - this.#clock.ledgerTtlMs;
    let expired = 0;
    let cursor: string | null = null;
    for (let first = true; !this.#closed; first = false) {
      if (!first) await pause(this.#clock.scheduler);
      const page = await readRange(this.#t.ledger, cursor, LEDGER_PAGE);
      if (page.length === 0) break;
      cursor = (page[page.length - 1] as readonly [string, unknown])[0];
      for (const [key, value] of page) {
        const entry = await this.#openSealed(STORE_TABLES.ledger, key, value, LedgerEntryCodec);
        // An entry that cannot be read is kept: dropping it could allow a resend.
        if (E.isLeft(entry)) continue;
        const isExpired = entry.right.completedAt < cutoff;
        if (!isExpired) continue;
        // A completed op must be out of pending before its ledger entry goes:
        // past the TTL the server may have forgotten the key too, so a resend
        // would be a duplicate.
        await this.#dropCompletedFromPending(entry.right.opId);
        await this.#t.ledger.removeItem(key);
        expired++;
      }
    }
    this.#lastPruneAt = this.#clock.now();
    return expired;
  }

  // ---- queue ----------------------------------------------------------------

  append(op: PendingOp): Promise<void> {
    return this.#guard(async () => {
      const json = serializeOp(op);
      const sealed = this.#cipher.seal(STORE_TABLES.pending, op.id, json);
      if (typeof this.#t.pending.setItems === 'function') await this.#groupCommit(op.id, sealed);
      else await this.#t.pending.setItem(op.id, await sealed);
      this.#emit({ type: 'appended', op });
    });
  }

  /**
   * Group commit: appends made in the same tick join one batch, sealed in
   * parallel and written by one atomic `setItems` (one transaction, one
   * fsync). Each caller still resolves only after the commit that holds its
   * record; if the write fails, every append of the batch rejects and none
   * of them is written. Batches may commit out of call order, which is
   * harmless: the queue is ordered by key, not by write time.
   */
  #groupCommit(key: string, sealed: Promise<string>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#batch.push({ key, sealed, resolve, reject });
      if (this.#batch.length === 1) queueMicrotask(() => void this.#flushBatch());
    });
  }

  #flushBatch(): Promise<void> {
    const batch = this.#batch.splice(0);
    if (batch.length === 0) return this.#flushing ?? Promise.resolve();
    const done = this.#writeBatch(batch).finally(() => {
      if (this.#flushing === done) this.#flushing = null;
    });
    this.#flushing = done;
    return done;
  }

  async #writeBatch(batch: ReadonlyArray<PendingAppend>): Promise<void> {
    const sealed = await Promise.allSettled(batch.map((b) => b.sealed));
    const ready: PendingAppend[] = [];
    const entries: Array<readonly [string, string]> = [];
    batch.forEach((b, i) => {
      const r = sealed[i] as PromiseSettledResult<string>;
      if (r.status === 'rejected') return b.reject(r.reason);
      ready.push(b);
      entries.push([b.key, r.value]);
    });
    if (entries.length === 0) return;
    try {
      await (this.#t.pending.setItems as NonNullable<RangeCapableForage['setItems']>)(entries);
      for (const b of ready) b.resolve();
    } catch (err) {
      for (const b of ready) b.reject(err);
    }
  }

  peek(n: number, afterId?: OpId): Promise<readonly PendingOp[]> {
    return this.#guard(async () => {
      const out: PendingOp[] = [];
      let cursor: string | null = afterId ?? null;
      while (out.length < n) {
        const page = await readRange(this.#t.pending, cursor, Math.min(PEEK_PAGE, n - out.length));
        if (page.length === 0) break;
        const opened = await Promise.all(page.map(([key, value]) => this.#openOp(key, value)));
        for (let i = 0; i < page.length; i++) {
          const [key, value] = page[i] as readonly [string, unknown];
          const r = opened[i] as Opened<PendingOp>;
          if (E.isRight(r)) out.push(r.right);
          else await this.#quarantine(key, value, r.left);
        }
        cursor = (page[page.length - 1] as readonly [string, unknown])[0];
      }
      return out;
    });
  }

  update(op: PendingOp): Promise<void> {
    return this.#guard(async () => {
      const json = serializeOp(op);
      // Never resurrect an op that completed, failed or was quarantined meanwhile.
      if ((await this.#t.pending.getItem(op.id)) === null) return;
      await this.#writeSealed(STORE_TABLES.pending, op.id, json);
      this.#emit({ type: 'updated', op });
    });
  }

  complete(op: PendingOp, completedAt: number): Promise<void> {
    return this.#guard(async () => {
      const entry: LedgerEntry = { opId: op.id, completedAt };
      const json = JSON.stringify(entry);
      const { ledger, pending } = this.#t;
      if (typeof ledger.setAndRemove === 'function') {
        // One transaction (SQLite, memory): ledger entry and removal land
        // together, one commit and one fsync, no state in between.
        const sealed = await this.#cipher.seal(STORE_TABLES.ledger, op.idempotencyKey, json);
        await ledger.setAndRemove(op.idempotencyKey, sealed, pending, op.id);
      } else {
        // Crash window: after the ledger write the op is done in effect;
        // open() removes it from pending, and isCompleted() already says so.
        await this.#writeSealed(STORE_TABLES.ledger, op.idempotencyKey, json);
        await pending.removeItem(op.id);
      }
      this.#emit({ type: 'completed', op });
      this.#maybePrune();
    });
  }

  fail(op: PendingOp, failure: FailureInfo): Promise<void> {
    return this.#guard(async () => {
      const record: FailedRecord = {
        id: op.id,
        reason: failure.reason,
        error: failure.error,
        attempts: op.attempts,
        failedAt: failure.failedAt,
        op,
      };
      // Crash window: the dead-letter copy is written first; open() removes
      // the pending copy if the second write never happened.
      await this.#writeSealed(STORE_TABLES.failed, op.id, JSON.stringify(record));
      await this.#t.pending.removeItem(op.id);
      this.#emit({ type: 'failed', record });
    });
  }

  isCompleted(idempotencyKey: string): Promise<boolean> {
    // Presence is the answer; the value (op id, time) is only for repair and pruning.
    return this.#guard(async () => (await this.#t.ledger.getItem(idempotencyKey)) !== null);
  }

  counts(): Promise<StoreCounts> {
    return this.#guard(async () => {
      const [pending, failed] = await Promise.all([this.#t.pending.length(), this.#t.failed.length()]);
      return { pending, failed };
    });
  }

  readMeta<T>(key: string): Promise<T | undefined> {
    return this.#guard(async () => {
      const v = await this.#readSealed(STORE_TABLES.meta, appMetaKey(key), t.type({ value: t.unknown }));
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
      await this.#writeSealed(STORE_TABLES.meta, appMetaKey(key), json);
    });
  }

  pruneLedger(): Promise<number> {
    return this.#guard(() => this.#walkLedger());
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // Appends already accepted are written before the handles go.
    await this.#flushBatch();
    await this.#pruning;
    this.#changes.complete();
    for (const f of Object.values(this.#t) as RangeCapableForage[]) {
      if (typeof f.closeInstance === 'function') await f.closeInstance().catch(() => undefined);
    }
  }

  // ---- dead-letter queue ------------------------------------------------------

  async #listFailed(): Promise<readonly FailedRecord[]> {
    const raw: Array<[string, unknown]> = [];
    await this.#t.failed.iterate<unknown, void>((value, key) => {
      raw.push([key, value]);
    });
    return Promise.all(raw.map(([key, value]) => this.#failedOrCorrupt(key, value)));
  }

  /** A second retry of a record while the first runs (a double click) gets the first one's op, not a copy. */
  #retryOnce(id: string): Promise<PendingOp> {
    const running = this.#retrying.get(id);
    if (running) return running;
    const retry = this.#retry(id).finally(() => this.#retrying.delete(id));
    this.#retrying.set(id, retry);
    return retry;
  }

  async #retry(id: string): Promise<PendingOp> {
    const stored = await this.#t.failed.getItem<unknown>(id);
    if (stored === null) throw new ValidationError('invalidOptions', 'no dead-letter record with this id');
    const record = await this.#openFailed(id, stored);
    if (E.isLeft(record) || record.right.op === undefined) throw new StorageError('corrupt');
    // A new id (back to the tail) and, after a definitive refusal, a new key
    // derived from the refused one: retries of this record from other tabs
    // at the same moment send under that same key, so the server dedupes them.
    const op = retriedOp(record.right.op, record.right);
    const intentKey = `${RETRY_PREFIX}${id}`;
    const intent: RetryIntent = { newId: op.id };
    // Crash windows: intent → append → remove failed → forget intent. open()
    // removes the failed copy iff the new pending op exists, so the op is in
    // exactly one queue whatever the cut. A cut before the append leaves
    // only the failed copy: nothing was sent under a key minted here.
    await this.#writeSealed(STORE_TABLES.meta, intentKey, JSON.stringify(intent));
    await this.#writeSealed(STORE_TABLES.pending, op.id, serializeOp(op));
    await this.#t.failed.removeItem(id);
    await this.#t.meta.removeItem(intentKey);
    this.#emit({ type: 'retried', op, failedId: id });
    return op;
  }

  async #discard(id: string): Promise<void> {
    const stored = await this.#t.failed.getItem<unknown>(id);
    if (stored === null) return;
    const record = await this.#failedOrCorrupt(id, stored);
    await this.#t.failed.removeItem(id);
    this.#emit({ type: 'discarded', record });
  }

  /** A dead-letter record as stored, or, if unreadable, a `corrupt` record holding its bytes. */
  async #failedOrCorrupt(key: string, value: unknown): Promise<FailedRecord> {
    const r = await this.#openFailed(key, value);
    if (E.isRight(r)) return r.right;
    // Even an unreadable dead-letter record is listed, never hidden.
    return {
      id: key,
      reason: 'corrupt',
      error: null,
      attempts: 0,
      failedAt: 0,
      raw: typeof value === 'string' ? value : safeStringify(value),
      detail: r.left,
    };
  }

  // ---- records --------------------------------------------------------------

  async #openOp(key: string, value: unknown): Promise<Opened<PendingOp>> {
    const json = await this.#cipher.open(STORE_TABLES.pending, key, value);
    if (E.isLeft(json)) return E.left(json.left.detail);
    return pipe(
      parseJson(json.right),
      E.chain(decodePendingOp),
      E.chain((op) => (op.id === key ? E.right(op) : E.left('id: does not match its storage key'))),
    );
  }

  async #openFailed(key: string, value: unknown): Promise<Opened<FailedRecord>> {
    const json = await this.#cipher.open(STORE_TABLES.failed, key, value);
    if (E.isLeft(json)) return E.left(json.left.detail);
    return pipe(parseJson(json.right), E.chain(decodeFailedRecord));
  }

  async #openSealed<A>(table: string, key: string, value: unknown, codec: t.Decoder<unknown, A>): Promise<Opened<A>> {
    const json = await this.#cipher.open(table, key, value);
    if (E.isLeft(json)) return E.left(json.left.detail);
    return pipe(
      parseJson(json.right),
      E.chain((u) => pipe(codec.decode(u), E.mapLeft(() => 'record: unexpected shape'))),
    );
  }

  async #readSealed<A>(table: string, key: string, codec: t.Decoder<unknown, A>): Promise<A | undefined> {
    const forage = this.#forageOf(table);
    const value = await forage.getItem<unknown>(key);
    if (value === null) return undefined;
    const r = await this.#openSealed(table, key, value, codec);
    if (E.isLeft(r)) throw new StorageError('corrupt');
    return r.right;
  }

  async #writeSealed(table: string, key: string, json: string): Promise<void> {
    const sealed = await this.#cipher.seal(table, key, json);
    await this.#forageOf(table).setItem(key, sealed);
  }

  /**
   * Move an unreadable pending record to the dead-letter queue, bytes and
   * all (still encrypted when it could not be decrypted), then drop it from
   * pending; same crash window and repair as `fail`.
   */
  async #quarantine(key: string, value: unknown, detail: string): Promise<void> {
    // Two overlapping peeks can meet the same bad record: move it once.
    if (this.#quarantining.has(key)) return;
    this.#quarantining.add(key);
    try {
      await this.#moveToQuarantine(key, value, detail);
    } finally {
      this.#quarantining.delete(key);
    }
  }

  async #moveToQuarantine(key: string, value: unknown, detail: string): Promise<void> {
    const opened = await this.#cipher.open(STORE_TABLES.pending, key, value);
    const raw = E.isRight(opened) ? opened.right : typeof value === 'string' ? value : safeStringify(value);
    const record: FailedRecord = {
      id: key,
      reason: 'corrupt',
      error: { kind: 'storage', code: 'corrupt' },
      attempts: 0,
      failedAt: this.#clock.now(),
      raw,
      detail,
    };
    await this.#writeSealed(STORE_TABLES.failed, key, JSON.stringify(record));
    await this.#t.pending.removeItem(key);
    this.#emit({ type: 'failed', record });
  }

  #forageOf(table: string): RangeCapableForage {
    switch (table) {
      case STORE_TABLES.pending:
        return this.#t.pending;
      case STORE_TABLES.failed:
        return this.#t.failed;
      case STORE_TABLES.ledger:
        return this.#t.ledger;
      default:
        return this.#t.meta;
    }
  }

  // ---- plumbing -------------------------------------------------------------

  #maybePrune(): void {
    const now = this.#clock.now();
    if (this.#pruning || now - this.#lastPruneAt < this.#clock.ledgerPruneIntervalMs) return;
    this.#lastPruneAt = now;
    // Runs after the completing write; close() waits for it. A failed prune
    // is retried at the next interval, never surfaced to the completing caller.
    this.#pruning = this.pruneLedger()
      .catch(() => undefined)
      .finally(() => {
        this.#pruning = null;
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

function serializeOp(op: PendingOp): string {
  const checked = decodePendingOp(op);
  if (E.isLeft(checked)) throw new ValidationError('invalidPayload', checked.left);
  try {
    return JSON.stringify(op);
  } catch {
    throw new ValidationError('notSerializable', 'payload');
  }
}

function safeStringify(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
