import type { EngineEvent } from '../../src/engine/sync-engine';
import type { ErrorInfo } from '../../src/errors/sync-error';
import { createIdempotencyKey } from '../../src/idempotency/idempotency-key';
import { createOpId, createTraceId } from '../../src/op/ids';
import type { PendingOp } from '../../src/op/pending-op';
import type { FailedRecord, FailureReason } from '../../src/store/op-store';

/** A pending op as the store would hand it to the pipeline. */
export function makeOp(overrides: Partial<PendingOp> = {}): PendingOp {
  return {
    schemaVersion: 1,
    id: createOpId(),
    type: 'todo.create',
    payload: { title: 'buy milk' },
    idempotencyKey: createIdempotencyKey(),
    traceId: createTraceId(),
    txToken: 'tx-1',
    createdAt: 1_000,
    attempts: 0,
    nextAttemptAt: null,
    ...overrides,
  };
}

export function failedRecord(op: PendingOp, reason: FailureReason, error: ErrorInfo | null, at: number): FailedRecord {
  return { id: op.id, reason, error, attempts: op.attempts, failedAt: at, op };
}

/** Builders for every EngineEvent, so tests read like a timeline. */
export const ev = {
  enqueued: (op: PendingOp, at = op.createdAt): EngineEvent => ({ type: 'enqueued', at, op }),
  attemptStarted: (op: PendingOp, at: number, attempt = 1): EngineEvent => ({ type: 'attemptStarted', at, op, attempt }),
  attemptSucceeded: (op: PendingOp, at: number, durationMs: number, attempt = 1, status = 200): EngineEvent => ({
    type: 'attemptSucceeded',
    at,
    op,
    attempt,
    status,
    durationMs,
  }),
  attemptFailed: (op: PendingOp, at: number, error: ErrorInfo, durationMs = 10, attempt = 1): EngineEvent => ({
    type: 'attemptFailed',
    at,
    op,
    attempt,
    error,
    durationMs,
  }),
  backoff: (op: PendingOp, at: number, delayMs: number, retryAfter = false): EngineEvent => ({
    type: 'backoff',
    at,
    op,
    delayMs,
    retryAfter,
  }),
  completed: (op: PendingOp, at: number, fromLedger = false): EngineEvent => ({ type: 'completed', at, op, fromLedger }),
  failed: (record: FailedRecord, at = record.failedAt): EngineEvent => ({ type: 'failed', at, record }),
  conflict: (op: PendingOp, at: number, resolution: 'retry' | 'drop' | 'fail'): EngineEvent => ({
    type: 'conflict',
    at,
    op,
    resolution,
  }),
  lockAcquired: (at: number, takeover = false, fencingToken = 7): EngineEvent => ({
    type: 'lockAcquired',
    at,
    fencingToken,
    takeover,
  }),
  lockLost: (at: number): EngineEvent => ({ type: 'lockLost', at }),
  lockError: (at: number): EngineEvent => ({ type: 'lockError', at, error: { kind: 'storage', code: 'corrupt' } }),
  lockReleased: (at: number): EngineEvent => ({ type: 'lockReleased', at }),
  authRequired: (at: number): EngineEvent => ({ type: 'authRequired', at }),
  tokenRefreshed: (at: number): EngineEvent => ({ type: 'tokenRefreshed', at }),
  gate: (at: number, open: boolean): EngineEvent => ({
    type: 'gate',
    at,
    open,
    blockedBy: open ? [] : ['offline'],
  }),
};

/** base64url without Buffer-free constraints (tests may use Node). */
export function fakeJwt(claims: Record<string, unknown>): string {
  const enc = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${enc({ alg: 'HS256', typ: 'JWT' })}.${enc(claims)}.c2lnbmF0dXJl`;
}
