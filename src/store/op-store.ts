import type { Observable } from 'rxjs';
import type { ErrorInfo } from '../errors/sync-error';
import type { OpId, PendingOp } from '../op/pending-op';

/**
 * Why an op left the queue for the dead-letter queue. `dropped` marks a
 * conflict that reconciliation dropped: its record is discarded right after
 * (it is only seen if a crash hits between the two writes). `redirect`: the
 * server answered with a redirect, which the engine never follows.
 * `cancelled`: the app cancelled the op (`engine.cancel`); like `dropped`,
 * its record is discarded right after.
 */
export type FailureReason =
  | 'permanent'
  | 'exhausted'
  | 'conflict'
  | 'dropped'
  | 'malformedResponse'
  | 'redirect'
  | 'corrupt'
  | 'cancelled';

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
  | { readonly type: 'updated'; readonly op: PendingOp }
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

/**
 * The durable operation store. Every method resolves only after its writes
 * are durable and rejects with a `StorageError`, never a partial write.
 */
export interface OpStore {
  /** Persist an op at the tail of the queue (key = `op.id`, a UUIDv7). */
  append(op: PendingOp): Promise<void>;
  /**
   * Up to `n` pending ops in FIFO order, strictly after `afterId` when given
   * (for paging through a large queue with bounded memory). Corrupt records
   * met are quarantined to the dead-letter queue and skipped.
   */
  peek(n: number, afterId?: OpId): Promise<readonly PendingOp[]>;
  /** Replace a pending op (attempts, nextAttemptAt, lastError): one write. */
  update(op: PendingOp): Promise<void>;
  /** Record the idempotency key in the ledger, then remove from pending (one transaction where the driver has `setAndRemove`). */
  complete(op: PendingOp, completedAt: number): Promise<void>;
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
