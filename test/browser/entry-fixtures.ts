/**
 * What the pages bundled for the Chromium tests and benches share (browser
 * code: no Node built-ins): the one route they post to and fresh stored ops.
 */
import * as t from 'io-ts';
import { createIdempotencyKey } from '../../src/idempotency/idempotency-key';
import { createOpId, createTraceId } from '../../src/op/ids';
import { PENDING_OP_SCHEMA_VERSION, type PendingOp } from '../../src/op/pending-op';
import { defineRoutes } from '../../src/router/op-router';

/** `todo.create` → `POST /todos` with `{ id, title }`; the answer is not decoded. */
export const todoCreateRoutes = defineRoutes({
  'todo.create': { method: 'POST', path: '/todos', payload: t.type({ id: t.string, title: t.string }), response: t.unknown },
});

/**
 * A stored `todo.create` op with fresh ids, `txToken` `tx-<n>`, never attempted.
 *
 * @example
 * await store.append(freshTodoOp(1, { id: 't-1', title: 'todo 1' }));
 */
export function freshTodoOp(n: number, payload: unknown): PendingOp {
  return {
    schemaVersion: PENDING_OP_SCHEMA_VERSION,
    id: createOpId(),
    type: 'todo.create',
    payload,
    idempotencyKey: createIdempotencyKey(),
    traceId: createTraceId(),
    txToken: `tx-${n}`,
    createdAt: 0,
    attempts: 0,
    nextAttemptAt: null,
  };
}
