import { uuidV4 as uuidv4 } from '../op/uuid';
import { ValidationError } from '../errors/sync-error';
import { createIdempotencyKey } from '../idempotency/idempotency-key';
import { createOpId, createTraceId } from '../op/ids';
import { PENDING_OP_SCHEMA_VERSION, type PendingOp } from '../op/pending-op';
import type { OpRouter } from '../router/op-router';
import { safePayloadCopy, type PayloadLimits } from '../security/payload-guard';
import type { EnqueueInput } from './sync-engine';

/**
 * The op `engine.enqueue(input)` stores: checked (hostile shapes and sizes,
 * then the route's codec) on a plain copy of the payload, which is what is
 * stored and sent; new id, idempotency key and trace id; `txToken` the
 * app's or a new one; `accountId` (the account signed in) when given.
 * Throws `ValidationError` for bad input.
 *
 * @example
 * const op = newPendingOp({ type: 'todo.create', payload: { id, title } }, router, now());
 */
export function newPendingOp(
  input: EnqueueInput,
  router: Pick<OpRouter, 'validate'>,
  createdAt: number,
  limits?: PayloadLimits,
  accountId?: string,
): PendingOp {
  if (typeof input !== 'object' || input === null) throw new ValidationError('unknownType', 'type: expected string');
  // Each field read once: a getter must not show the checks one value and
  // the store another.
  const { type, payload: given, txToken } = input;
  if (typeof type !== 'string') throw new ValidationError('unknownType', 'type: expected string');
  const payload = safePayloadCopy(given, limits);
  router.validate(type, payload);
  const op: PendingOp = {
    schemaVersion: PENDING_OP_SCHEMA_VERSION,
    id: createOpId(),
    type,
    payload,
    idempotencyKey: createIdempotencyKey(),
    traceId: createTraceId(),
    txToken: typeof txToken === 'string' && txToken !== '' ? txToken : uuidv4(),
    createdAt,
    attempts: 0,
    nextAttemptAt: null,
    lastError: null,
  };
  // No account is no field (never `accountId: undefined` in a stored record).
  return accountId === undefined ? op : { ...op, accountId };
}
