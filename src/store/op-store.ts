import type { Observable } from 'rxjs';
import type { ErrorInfo } from '../errors/sync-error';
import type { OpId, PendingOp } from '../op/pending-op';
import type { FailureReason } from '../op/failure-reason';

export type { FailureReason } from '../op/failure-reason';

/** What `fail()` records with the op. */
export interface FailureInfo {
  readonly reason: FailureReason;
  readonly error: ErrorInfo;
  /** Failure time, epoch ms. */
  readonly failedAt: number;
}

/**
 * A dead-letter record. `op` is absent only for a quarantined record that
 * could not be decoded; then `raw` keeps its stored bytes (still encrypted
 * when they could not be decrypted) so nothing is ever dropped.
 */
export interface FailedRecord {
  /** The storage key the record had in `pending_ops`. */
  readonly id: string;
  readonly reason: FailureReason;
  readonly error: ErrorInfo | null;
  readonly attempts: number;
  readonly failedAt: number;
  readonly op?: PendingOp;
  readonly raw?: string;
  /** Why decoding failed, for `corrupt` records (field paths only). */
  readonly detail?: string;
}

/** A change to the pending queue or the dead-letter queue. */
export type StoreChange =
  | { readonly type: 'appended'; readonly op: PendingOp }
  /** Bookkeeping replaced (attempts, next attempt time, last error); the request is unchanged. */
  | { readonly type: 'updated'; readonly op: PendingOp }
  /** The payload was rewritten (conflict reconciliation), under a new idempotency key: a new request. */
  | { readonly type: 'rewritten'; readonly op: PendingOp }
  | { readonly type: 'completed'; readonly op: PendingOp }
  | { readonly type: 'failed'; readonly record: FailedRecord }
  /** `failedId`: the dead-letter record the op came from (its old id; `op.id` is new). */
  | { readonly type: 'retried'; readonly op: PendingOp; readonly failedId: string }
  | { readonly type: 'discarded'; readonly record: FailedRecord };

export interface StoreCounts {
  readonly pending: number;
  readonly failed: number;
}

/** The dead-letter queue. Records leave it only by `retry` or `discard`. */
export interface FailedOps {
  list(): Promise<readonly FailedRecord[]>;
  /**
   * Back to the tail of pending with a fresh attempt budget, resolving with
   * the op as queued. It gets a **new id** (ids are the queue's FIFO key: a
   * new UUIDv7 sorts after every change made since it failed) and keeps
   * `txToken`, `traceId`, type and payload — correlate by `txToken`. Its
   * `Idempotency-Key` is new after a definitive refusal (a 4xx) and kept
   * when the server may have applied it (`retryKeyPolicy`,
   * docs/idempotency_policy.md). Rejects with `ValidationError` for an
   * unknown id, `StorageError('corrupt')` for a record with no op.
   */
  retry(id: string): Promise<PendingOp>;
  discard(id: string): Promise<void>;
}

/** An op the server accepted, and when (`OpStore.completeAll`). */
export interface Completion {
  readonly op: PendingOp;
  /** When the server's 2xx arrived, epoch ms. */
  readonly completedAt: number;
}

/**
 * The durable operation store. Every method resolves only after its writes
 * are durable and rejects with a `StorageError`, never a partial write.
 */
export interface OpStore {
  /**
   * The store's name (`createOpStore({ name })`; the SQLite file path).
   * Engines on stores of one name share a cross-tab channel named after it.
   */
  readonly name?: string;
  /** Persist an op at the tail of the queue (key = `op.id`, a UUIDv7). */
  append(op: PendingOp): Promise<void>;
  /**
   * Up to `n` pending ops in FIFO order, strictly after `afterId` when given
   * (for paging through a large queue with bounded memory). Corrupt records
   * met are quarantined to the dead-letter queue and skipped.
   */
  peek(n: number, afterId?: OpId): Promise<readonly PendingOp[]>;
  /**
   * Replace a pending op's bookkeeping (attempts, nextAttemptAt, lastError):
   * one write, emitting `updated`. An op no longer pending is left alone.
   */
  update(op: PendingOp): Promise<void>;
  /**
   * Replace a pending op whose payload was rewritten under a new idempotency
   * key (`rekeyForRewrite`): one write like `update`, emitting `rewritten`,
   * so a view of pending payloads knows to recompute without comparing keys.
   */
  rewrite(op: PendingOp): Promise<void>;
  /** Record the idempotency key in the ledger, then remove from pending (one transaction where the driver has `setAndRemove`). */
  complete(op: PendingOp, completedAt: number): Promise<void>;
  /**
   * `complete` for several ops in one transaction: every ledger entry
   * written and every op removed, or none (a refusal for quota aside: then
   * op after op, as `complete` does). Emits `completed` for each, in the
   * order given. Absent where the driver cannot write them in one
   * transaction (`setAllAndRemove`); the settle lane then completes op
   * after op.
   */
  completeAll?(done: ReadonlyArray<Completion>): Promise<void>;
  /** Write to the dead-letter queue, then remove from pending. */
  fail(op: PendingOp, failure: FailureInfo): Promise<void>;
  /** Whether the ledger holds this key (the server already accepted it). */
  isCompleted(idempotencyKey: string): Promise<boolean>;
  /**
   * True when `complete` writes the ledger entry and removes the op in one
   * transaction: no op is ever pending and in the ledger at once, so asking
   * `isCompleted` before sending a pending op can only say no, and the engine
   * skips it. Absent or false (IndexedDB: two writes, a crash may fall in
   * between): the engine asks before every send.
   */
  readonly completesAtomically?: boolean;
  counts(): Promise<StoreCounts>;
  readonly failed: FailedOps;
  /** Every change, emitted after it is durable. Hot; never errors. */
  readonly changes$: Observable<StoreChange>;
  /** Small metadata records (lock record, counters). */
  readMeta<T>(key: string): Promise<T | undefined>;
  writeMeta<T>(key: string, value: T): Promise<void>;
  close(): Promise<void>;
}
