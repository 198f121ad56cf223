import { toStorageError } from '../drivers/storage-errors';
import type { SealedTable } from './sealed-table';
import { RESERVE_KEY } from './meta-keys';

/**
 * Room kept aside so the engine can still write what sending needs once
 * the origin's quota is exhausted.
 *
 * Measured in Chromium (`docs/operating.md`, "A full browser quota"): with
 * the quota exhausted, every transaction that puts anything aborts with
 * `QuotaExceededError` — a 20-byte record, an overwrite with a value of the
 * same size, a put in the same transaction as a larger delete — while a
 * transaction that only deletes commits and frees its room at once. So a
 * ballast record (sealed, hence incompressible) is written while there is
 * room; a write the engine needs (the lock's fence bump, attempt
 * bookkeeping, a dead-letter move) that meets a quota error
 * deletes it — a delete-only transaction — and is tried once more. Appends
 * never spend it: `enqueue` keeps rejecting with `StorageError('quota')`.
 * The ballast is written again, best effort, after a completion or a
 * dead-letter move has freed room.
 *
 * @example
 * const reserve = new QuotaReserve(tables.meta, 64 * 1024);
 * await reserve.refill();                       // at open, best effort
 * await reserve.spendOnQuota(() => write());   // a write sending needs
 */
export class QuotaReserve {
  readonly #meta: SealedTable;
  readonly #bytes: number;
  /** Whether the ballast may be missing (unknown at first: check before writing). */
  #maybeMissing = true;
  #refilling: Promise<void> | null = null;

  constructor(meta: SealedTable, bytes: number) {
    this.#meta = meta;
    this.#bytes = bytes;
  }

  /** Write the ballast if it is missing; a refusal (still no room) is ignored, tried again after the next freeing write. */
  refill(): Promise<void> {
    if (this.#bytes <= 0 || !this.#maybeMissing) return Promise.resolve();
    this.#refilling ??= (async () => {
      try {
        if (!(await this.#meta.has(RESERVE_KEY))) await this.#meta.write(RESERVE_KEY, '0'.repeat(this.#bytes));
        this.#maybeMissing = false;
      } catch {
        // No room yet (or the store is going away): the ballast stays missing.
      } finally {
        this.#refilling = null;
      }
    })();
    return this.#refilling;
  }

  /**
   * `write()`; when it fails with a quota error and the ballast was there,
   * delete the ballast and `write()` once more. Any other failure, or a
   * quota error with no ballast left, rejects as the write did.
   */
  async spendOnQuota<A>(write: () => Promise<A>): Promise<A> {
    try {
      return await write();
    } catch (err) {
      if (this.#bytes <= 0 || toStorageError(err).reason !== 'quota') throw err;
      await this.#refilling;
      if (!(await this.#meta.has(RESERVE_KEY))) throw err;
      this.#maybeMissing = true;
      await this.#meta.remove(RESERVE_KEY);
      return write();
    }
  }

  /** Waits for a refill in flight (before the tables close). */
  async settle(): Promise<void> {
    await this.#refilling;
  }
}
