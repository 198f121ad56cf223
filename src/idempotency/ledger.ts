import * as t from 'io-ts';
import * as E from '../fp/either';
import type { OpId, PendingOp } from '../op/pending-op';

/** What the ledger keeps per idempotency key (encrypted like every record). */
export interface LedgerEntry {
  readonly opId: string;
  /** When the server accepted the op, epoch ms. */
  readonly completedAt: number;
}

/** The io-ts codec of a stored `LedgerEntry`. */
export const LedgerEntryCodec = t.type({ opId: t.string, completedAt: t.number });

/** Ledger entries read (and decrypted) per page while pruning; the prune yields between pages. */
export const LEDGER_PAGE = 25;

/**
 * Pending ops checked against the ledger at open where `complete` is two
 * writes (IndexedDB). Completions are written one at a time in FIFO order
 * (the settle lane), so the op a crash can leave half-completed is the head
 * of the queue, or next to it (a holder whose lock was taken over, ops
 * another process enqueued in the same millisecond): a page covers that
 * window many times over.
 */
export const LEDGER_REPAIR_WINDOW = 100;

/**
 * The storage the ledger needs, as the store provides it (sealed tables):
 * the ledger table keyed by idempotency key, and the few pending-queue
 * operations completion and repair touch. Defined here so the rules below
 * do not depend on the store.
 */
export interface LedgerTables {
  /**
   * True when `commit` is one transaction: then no op is ever pending and in
   * the ledger at once, and open has nothing to repair.
   */
  readonly completesAtomically: boolean;
  /**
   * Write `entry` under `op.idempotencyKey`, then remove `op` from pending:
   * in one transaction where the driver allows, else the ledger entry
   * first (a crash in between leaves the op pending *and* completed, which
   * `IdempotencyLedger.repair` and the check before each send resolve).
   */
  commit(op: PendingOp, entry: LedgerEntry): Promise<void>;
  /**
   * `commit` for several ops in one transaction, all or none (a refusal for
   * quota aside: then each is committed as `commit` does); absent where the
   * storage cannot.
   */
  readonly commitAll?: (items: ReadonlyArray<{ readonly op: PendingOp; readonly entry: LedgerEntry }>) => Promise<void>;
  /** Whether the ledger holds `idempotencyKey`. */
  has(idempotencyKey: string): Promise<boolean>;
  /**
   * Up to `limit` entries with key strictly after `afterKey` (from the start
   * when null), in key order; an entry that cannot be read is a `Left`.
   */
  page(afterKey: string | null, limit: number): Promise<ReadonlyArray<readonly [string, E.Either<string, LedgerEntry>]>>;
  remove(idempotencyKey: string): Promise<void>;
  /** The readable ops among the first `limit` pending records (an unreadable one is left for `peek` to quarantine). */
  pendingHead(limit: number): Promise<readonly PendingOp[]>;
  isPending(opId: OpId | string): Promise<boolean>;
  removePending(opId: OpId | string): Promise<void>;
}

/** Options of `IdempotencyLedger`. */
export interface LedgerOptions {
  /** Clock, epoch ms. */
  readonly now: () => number;
  /** How long a completed key stays in the ledger, ms. */
  readonly ttlMs: number;
  /** Minimum time between two background prunes, ms. */
  readonly pruneIntervalMs: number;
  /** Gives the event loop back between two pages of the prune (on the injected scheduler). */
  readonly yieldBetweenPages: () => Promise<void>;
}

/**
 * The idempotency ledger: every key the server accepted, kept `ttlMs` so a
 * resend after a crash is recognised and never sent twice. Owns the rules
 * — write, look-up, open-time repair of the crash window, background paged
 * pruning — over storage it is handed (`LedgerTables`).
 *
 * @example
 * const ledger = new IdempotencyLedger(tables, { now, ttlMs, pruneIntervalMs, yieldBetweenPages: () => pause(scheduler) });
 * await ledger.repair();            // at open
 * await ledger.record(op, now());   // the server's 2xx
 * ledger.schedulePrune();           // after each completion
 */
export class IdempotencyLedger {
  readonly #tables: LedgerTables;
  readonly #options: LedgerOptions;
  #closed = false;
  #lastPruneAt = Number.NEGATIVE_INFINITY;
  #pruning: Promise<unknown> | null = null;

  constructor(tables: LedgerTables, options: LedgerOptions) {
    this.#tables = tables;
    this.#options = options;
  }

  /** True when `record` is one transaction (`LedgerTables.completesAtomically`). */
  get completesAtomically(): boolean {
    return this.#tables.completesAtomically;
  }

  /** Record `op` as accepted by the server and remove it from pending. */
  record(op: PendingOp, completedAt: number): Promise<void> {
    return this.#tables.commit(op, { opId: op.id, completedAt });
  }

  /** True when `recordAll` writes its ops in one transaction (`LedgerTables.commitAll`). */
  get recordsManyAtomically(): boolean {
    return this.#tables.commitAll !== undefined;
  }

  /**
   * `record` for several ops: one transaction where the storage has one for
   * several (`recordsManyAtomically`), else one `record` after another.
   */
  async recordAll(done: ReadonlyArray<{ readonly op: PendingOp; readonly completedAt: number }>): Promise<void> {
    const items = done.map(({ op, completedAt }) => ({ op, entry: { opId: op.id, completedAt } }));
    if (this.#tables.commitAll !== undefined) return this.#tables.commitAll(items);
    for (const { op, entry } of items) await this.#tables.commit(op, entry);
  }

  /** Whether the server already accepted `idempotencyKey`. Presence is the answer. */
  has(idempotencyKey: string): Promise<boolean> {
    return this.#tables.has(idempotencyKey);
  }

  /**
   * At open: finish a `record` cut short between its two writes (the op is
   * in the ledger, so it leaves pending unsent). Nothing to do where
   * `record` is one transaction, unless `sinceTwoWrites`: the storage was
   * last written where it was two writes (an earlier version, another
   * driver). Only the head of the queue can be in that state
   * (`LEDGER_REPAIR_WINDOW`); should anything deeper ever be, the drain's
   * ledger check before each send (made where `record` is two writes)
   * still completes it unsent.
   */
  async repair(sinceTwoWrites = false): Promise<void> {
    if (this.#tables.completesAtomically && !sinceTwoWrites) return;
    for (const op of await this.#tables.pendingHead(LEDGER_REPAIR_WINDOW)) {
      if (await this.#tables.has(op.idempotencyKey)) await this.#tables.removePending(op.id);
    }
  }

  /**
   * Walk the ledger a page at a time, removing expired entries: memory stays
   * bounded however many keys 24 h of traffic left, and the event loop is
   * given back between pages (keys are random UUIDs, so expiry cannot be
   * read from key order: every entry is decrypted, one page per task). Stops
   * early once closed. Resolves with how many entries expired.
   */
  async prune(): Promise<number> {
    const cutoff = this.#options.now() - this.#options.ttlMs;
    let expired = 0;
    let cursor: string | null = null;
    for (let first = true; !this.#closed; first = false) {
      if (!first) await this.#options.yieldBetweenPages();
      const page = await this.#tables.page(cursor, LEDGER_PAGE);
      if (page.length === 0) break;
      cursor = (page[page.length - 1] as readonly [string, unknown])[0];
      for (const [key, entry] of page) {
        // An entry that cannot be read is kept: dropping it could allow a resend.
        if (E.isLeft(entry) || entry.right.completedAt >= cutoff) continue;
        // A completed op must be out of pending before its ledger entry goes:
        // past the TTL the server may have forgotten the key too, so a resend
        // would be a duplicate.
        if (await this.#tables.isPending(entry.right.opId)) await this.#tables.removePending(entry.right.opId);
        await this.#tables.remove(key);
        expired++;
      }
    }
    this.#lastPruneAt = this.#options.now();
    return expired;
  }

  /**
   * Start a prune in the background unless one runs or the last started
   * less than `pruneIntervalMs` ago (so the first completion after open
   * prunes). A failed prune is retried at the next interval, never surfaced
   * to the completing caller; `close()` waits for a running one.
   */
  schedulePrune(): void {
    const now = this.#options.now();
    if (this.#closed || this.#pruning || now - this.#lastPruneAt < this.#options.pruneIntervalMs) return;
    this.#lastPruneAt = now;
    this.#pruning = this.prune()
      .catch(() => undefined)
      .finally(() => {
        this.#pruning = null;
      });
  }

  /** Stop pruning (a running prune stops after its page); resolves when it has. */
  close(): Promise<void> {
    this.#closed = true;
    return this.#pruning === null ? Promise.resolve() : this.#pruning.then(() => undefined);
  }
}
