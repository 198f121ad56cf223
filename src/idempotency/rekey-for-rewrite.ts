import type { ErrorInfo } from '../errors/sync-error';
import type { IdempotencyKey, PendingOp } from '../op/pending-op';
import { createIdempotencyKey } from './idempotency-key';

/**
 * The pending op that replaces `op` when conflict reconciliation rewrites
 * its payload: the new payload under a **new** idempotency key (a new
 * payload is a new request; under the old key the server would replay, or
 * refuse, the first request's answer), a fresh attempt budget, sent as soon
 * as possible, and `lastError` saying why it was rewritten. The id stays
 * (the op keeps its place in the queue), as do type, `txToken`, `traceId`
 * and `createdAt`. Write it with `OpStore.rewrite`, which announces the new
 * payload as a `rewritten` change.
 *
 * Pure but for the default `newKey` (a fresh random key).
 *
 * @example
 * const next = rekeyForRewrite(op, decision.payload, conflict.toInfo());
 * store.rewrite(next);
 */
export function rekeyForRewrite(
  op: PendingOp,
  payload: unknown,
  lastError: ErrorInfo | null,
  newKey: IdempotencyKey = createIdempotencyKey(),
): PendingOp {
  return { ...op, payload, idempotencyKey: newKey, attempts: 0, nextAttemptAt: null, lastError };
}
