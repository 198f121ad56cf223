import * as E from '../fp/either';
import { StorageError, ValidationError } from '../errors/sync-error';
import { retriedOp } from '../idempotency/retried-op';
import type { PendingOp } from '../op/pending-op';
import type { FailedOps, FailedRecord, FailureInfo, StoreChange } from './op-store';
import type { SealedTables } from './open-tables';
import { RETRY_PREFIX } from './meta-keys';
import { decodeFailedRecord, rawText, serializeOp, type RetryIntent } from './stored-records';

/** What the dead-letter queue needs besides the tables. */
export interface DeadLetterDeps {
  /** Clock, epoch ms (quarantine times). */
  readonly now: () => number;
  /** Announce a durable change. */
  readonly emit: (change: StoreChange) => void;
}

/**
 * The dead-letter queue (`failed_ops`): ops that left the queue for good
 * (`fail`), unreadable records moved out of it (`quarantine`), and the
 * app's way back (`list`, `retry`, `discard`). Every move writes the
 * dead-letter copy first, so a crash leaves the op in at most one extra
 * place, which open-time repair (`repairAfterCrash`) resolves.
 *
 * @example
 * const dlq = new DeadLetterQueue(tables, { now, emit });
 * await dlq.fail(op, { reason: 'permanent', error, failedAt: now() });
 * const op2 = await dlq.retry(op.id);
 */
export class DeadLetterQueue implements FailedOps {
  readonly #t: SealedTables;
  readonly #deps: DeadLetterDeps;
  readonly #quarantining = new Set<string>();
  readonly #retrying = new Map<string, Promise<PendingOp>>();

  constructor(tables: SealedTables, deps: DeadLetterDeps) {
    this.#t = tables;
    this.#deps = deps;
  }

  /** Write `op` to the dead-letter queue, then remove it from pending. */
  async fail(op: PendingOp, failure: FailureInfo): Promise<void> {
    const record: FailedRecord = {
      id: op.id,
      reason: failure.reason,
      error: failure.error,
      attempts: op.attempts,
      failedAt: failure.failedAt,
      op,
    };
    await this.#moveFromPending(record);
  }

  /**
   * Move an unreadable pending record to the dead-letter queue, bytes and
   * all (still encrypted when it could not be decrypted), then drop it from
   * pending; same crash window and repair as `fail`. Two overlapping peeks
   * can meet the same bad record: it is moved once.
   */
  async quarantine(key: string, value: unknown, detail: string): Promise<void> {
    if (this.#quarantining.has(key)) return;
    this.#quarantining.add(key);
    try {
      const opened = await this.#t.pending.openText(key, value);
      await this.#moveFromPending({
        id: key,
        reason: 'corrupt',
        error: { kind: 'storage', code: 'corrupt' },
        attempts: 0,
        failedAt: this.#deps.now(),
        raw: E.isRight(opened) ? opened.right : rawText(value),
        detail,
      });
    } finally {
      this.#quarantining.delete(key);
    }
  }

  async list(): Promise<readonly FailedRecord[]> {
    const raw = await this.#t.failed.all();
    return Promise.all(raw.map(([key, value]) => this.#failedOrCorrupt(key, value)));
  }

  /** A second retry of a record while the first runs (a double click) gets the first one's op, not a copy. */
  retry(id: string): Promise<PendingOp> {
    const running = this.#retrying.get(id);
    if (running) return running;
    const retry = this.#retry(id).finally(() => this.#retrying.delete(id));
    this.#retrying.set(id, retry);
    return retry;
  }

  async discard(id: string): Promise<void> {
    const stored = await this.#t.failed.readRaw(id);
    if (stored === null) return;
    const record = await this.#failedOrCorrupt(id, stored);
    await this.#t.failed.remove(id);
    this.#deps.emit({ type: 'discarded', record });
  }

  // Crash window: the dead-letter copy is written first; open() removes the
  // pending copy if the second write never happened.
  async #moveFromPending(record: FailedRecord): Promise<void> {
    await this.#t.failed.write(record.id, JSON.stringify(record));
    await this.#t.pending.remove(record.id);
    this.#deps.emit({ type: 'failed', record });
  }

  async #retry(id: string): Promise<PendingOp> {
    const { failed, pending, meta } = this.#t;
    const stored = await failed.readRaw(id);
    if (stored === null) throw new ValidationError('invalidOptions', 'no dead-letter record with this id');
    const record = await failed.open(id, stored, decodeFailedRecord);
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
    await meta.write(intentKey, JSON.stringify(intent));
    await pending.write(op.id, serializeOp(op));
    await failed.remove(id);
    await meta.remove(intentKey);
    this.#deps.emit({ type: 'retried', op, failedId: id });
    return op;
  }

  /** A dead-letter record as stored, or, if unreadable, a `corrupt` record holding its bytes. */
  async #failedOrCorrupt(key: string, value: unknown): Promise<FailedRecord> {
    const r = await this.#t.failed.open(key, value, decodeFailedRecord);
    if (E.isRight(r)) return r.right;
    // Even an unreadable dead-letter record is listed, never hidden.
    return { id: key, reason: 'corrupt', error: null, attempts: 0, failedAt: 0, raw: rawText(value), detail: r.left };
  }
}
