import { createOpId } from '../op/ids';
import { retryIdempotencyKey } from './idempotency-key';
import type { IdempotencyKey, OpId, PendingOp } from '../op/pending-op';
import { retryKeyPolicy, type RetryKeyInput } from './retry-key-policy';

/** Where a retried op's fresh id and (when the policy asks) new key come from. */
export interface RetryIds {
  readonly opId: () => OpId;
  /** The key to send under instead of the refused one. */
  readonly idempotencyKey: (refused: IdempotencyKey) => IdempotencyKey;
}

const FRESH_IDS: RetryIds = { opId: createOpId, idempotencyKey: retryIdempotencyKey };

/**
 * The pending op a dead-letter retry appends: a new id (a UUIDv7, the
 * queue's storage key, so the op goes to the tail, after every change made
 * since it failed), the key `retryKeyPolicy` decides (a new one is derived
 * from the refused key: `retryIdempotencyKey`), a fresh attempt budget.
 * Type, payload, `txToken`, `traceId` and `createdAt` are kept, so an app
 * correlates the retried op with the failed one by `txToken`.
 *
 * @example
 * const op = retriedOp(record.op, record); // record.reason 'permanent', 404 → new idempotency key
 */
export function retriedOp(op: PendingOp, failure: RetryKeyInput, ids: RetryIds = FRESH_IDS): PendingOp {
  return {
    ...op,
    id: ids.opId(),
    idempotencyKey: retryKeyPolicy(failure) === 'newKey' ? ids.idempotencyKey(op.idempotencyKey) : op.idempotencyKey,
    attempts: 0,
    nextAttemptAt: null,
    lastError: null,
  };
}
