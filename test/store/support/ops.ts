import { createOpId, createTraceId } from '../../../src/op/ids';
import { createIdempotencyKey } from '../../../src/idempotency/idempotency-key';
import type { PendingOp } from '../../../src/op/pending-op';

/** A marker no ciphertext or metadata can contain by chance. */
export const SECRET = 'PLAINTEXT-MARKER-7f3a9c';

let n = 0;

/** A valid pending op whose payload carries `SECRET`. */
export function makeOp(overrides: Partial<PendingOp> = {}): PendingOp {
  n++;
  return {
    schemaVersion: 1,
    id: createOpId(),
    type: 'todo.create',
    payload: { title: `${SECRET} #${n}`, n },
    idempotencyKey: createIdempotencyKey(),
    traceId: createTraceId(),
    txToken: `tx-${n}`,
    createdAt: 1_700_000_000_000 + n,
    attempts: 0,
    nextAttemptAt: null,
    ...overrides,
  };
}

/** `count` ops with ids in enqueue order. */
export function makeOps(count: number): PendingOp[] {
  return Array.from({ length: count }, () => makeOp());
}
