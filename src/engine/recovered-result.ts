import { CANCELLED_MESSAGE, UNKNOWN_OUTCOME_MESSAGE, userMessageFor } from '../errors/user-messages';
import type { PendingOp } from '../op/pending-op';
import type { FailedRecord } from '../store/op-store';
import { ACCOUNT_DISCARDED_CODE } from './discard-account';
import type { OpResult } from './sync-engine';

/**
 * What the store says about an op that left the queue in another engine
 * whose `results$` entry never reached this one (a lost message):
 * - `committed`: its idempotency key is in the ledger (or its `completed`
 *   change was seen) — the server's 2xx was recorded;
 * - `failed`: its dead-letter record (or its `failed`/`discarded` change);
 * - `none`: neither — it was cancelled, dropped or discarded from the
 *   dead-letter queue, or committed longer ago than the ledger keeps keys.
 */
export type DepartureEvidence =
  | { readonly kind: 'committed' }
  | { readonly kind: 'failed'; readonly record: FailedRecord }
  | { readonly kind: 'none' };

/**
 * The `results$` entry the evidence supports, or undefined when the op has
 * none anywhere (`discardAccount`). Never `committed` without the ledger's
 * (or the store's `completed`) word; `committed` carries no `data` (like an
 * op found in the ledger after a crash); no evidence is `unknown`, never a
 * guess. Pure; table-tested from `test-vectors/recovered_result.json`.
 *
 * @example
 * recoveredResult(op, { kind: 'committed' }); // { opId, txToken, type, outcome: 'committed' }
 */
export function recoveredResult(op: PendingOp, evidence: DepartureEvidence): OpResult | undefined {
  const base = { opId: op.id, txToken: op.txToken, type: op.type };
  switch (evidence.kind) {
    case 'committed':
      return { ...base, outcome: 'committed' };
    case 'none':
      return { ...base, outcome: 'unknown', message: UNKNOWN_OUTCOME_MESSAGE };
    case 'failed':
      return fromRecord(base, evidence.record);
  }
}

function fromRecord(base: Pick<OpResult, 'opId' | 'txToken' | 'type'>, record: FailedRecord): OpResult | undefined {
  const error = record.error ?? undefined;
  const withError = error === undefined ? {} : { error };
  switch (record.reason) {
    case 'cancelled':
      return record.op?.lastError == null
        ? { ...base, outcome: 'cancelled', message: CANCELLED_MESSAGE }
        : { ...base, outcome: 'cancelled', message: CANCELLED_MESSAGE, error: record.op.lastError };
    case 'dropped':
      if (error?.code === ACCOUNT_DISCARDED_CODE) return undefined;
      return { ...base, outcome: 'conflict', resolution: 'drop', message: userMessageFor('conflict'), ...withError };
    case 'conflict':
      return { ...base, outcome: 'conflict', resolution: 'fail', reason: 'conflict', message: userMessageFor('conflict'), ...withError };
    default:
      return { ...base, outcome: 'failed', reason: record.reason, message: userMessageFor(error?.kind ?? 'permanent'), ...withError };
  }
}
