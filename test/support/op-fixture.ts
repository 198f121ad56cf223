import type { PendingOp } from '../../src/op/pending-op';

/** A stored `todo.create` op (fixed ids), with `over` applied. */
export function pendingOp(over: Partial<PendingOp> = {}): PendingOp {
  return {
    schemaVersion: 1,
    id: '018f0000-0000-7000-8000-00000000000a' as PendingOp['id'],
    type: 'todo.create',
    payload: { id: 'a', title: 't' },
    idempotencyKey: '9b2f5a8e-4a3c-4f7e-9a55-2f1f0c3f1a11' as PendingOp['idempotencyKey'],
    traceId: '0c3a5d0e-6f6b-4b7e-8f5e-5a0f3e2d1c9b' as PendingOp['traceId'],
    txToken: 'tx',
    createdAt: 0,
    attempts: 0,
    nextAttemptAt: null,
    lastError: null,
    ...over,
  };
}

/**
 * Two stored ops for the account scenarios: `legacy` with no account (an
 * older build's) and `ofA`, an op of account `A`.
 */
export function legacyAndAccountAOps(): { legacy: PendingOp; ofA: PendingOp } {
  const legacy = pendingOp({ id: '018f0000-0000-7000-8000-000000000001' as PendingOp['id'], payload: { id: 'old', title: 't' } });
  const ofA = pendingOp({
    id: '018f0000-0000-7000-8000-000000000002' as PendingOp['id'],
    idempotencyKey: '9b2f5a8e-4a3c-4f7e-9a55-2f1f0c3f1a12' as PendingOp['idempotencyKey'],
    payload: { id: 'a0', title: 't' },
    accountId: 'A',
  });
  return { legacy, ofA };
}
