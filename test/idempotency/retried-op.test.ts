import { retryIdempotencyKey } from '../../src/idempotency/idempotency-key';
import { retriedOp } from '../../src/idempotency/retried-op';
import type { IdempotencyKey, OpId } from '../../src/op/pending-op';
import { makeOp } from '../store/support/ops';

const ids = { opId: () => 'new-id' as OpId, idempotencyKey: () => 'new-key' as IdempotencyKey };

describe('retriedOp', () => {
  const failed = makeOp({ attempts: 5, nextAttemptAt: 123, lastError: { kind: 'permanent', status: 404 } });

  it('after a definitive refusal: new id and new key, fresh budget, everything else kept', () => {
    const op = retriedOp(failed, { reason: 'permanent', error: { kind: 'permanent', status: 404 } }, ids);
    expect(op).toEqual({ ...failed, id: 'new-id', idempotencyKey: 'new-key', attempts: 0, nextAttemptAt: null, lastError: null });
  });

  it('when the server may have applied it: new id, same key', () => {
    const op = retriedOp(failed, { reason: 'malformedResponse', error: { kind: 'malformedResponse', status: 200 } }, ids);
    expect(op).toEqual({ ...failed, id: 'new-id', attempts: 0, nextAttemptAt: null, lastError: null });
  });

  it('by default: a fresh UUIDv7 after the old id, and the key derived from the refused one', () => {
    const refusal = { reason: 'conflict', error: { kind: 'conflict', status: 409 } } as const;
    const op = retriedOp(failed, refusal);
    expect(op.id > failed.id).toBe(true);
    expect(op.idempotencyKey).toBe(retryIdempotencyKey(failed.idempotencyKey));
    // A second retry of the same record (another tab) sends under the same key.
    expect(retriedOp(failed, refusal).idempotencyKey).toBe(op.idempotencyKey);
  });
});
