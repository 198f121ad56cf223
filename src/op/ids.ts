import { parse, v4 as uuidv4, v5 as uuidv5, v7 as uuidv7, validate, version } from 'uuid';
import type { IdempotencyKey, OpId, TraceId } from './pending-op';

/**
 * A new operation id: UUIDv7, whose first 48 bits are the Unix time in ms
 * and whose next bits are a monotonic counter within this JS realm, so ids
 * sort in enqueue order and are the queue's storage key. Across tabs or
 * processes two ids made in the same millisecond order arbitrarily; that is
 * the only order ambiguity, and it is between truly concurrent enqueues.
 *
 * @example
 * const id = createOpId(); // '019ac309-f100-7a47-…'
 */
export function createOpId(): OpId {
  return uuidv7() as OpId;
}

/**
 * A new `Idempotency-Key` (UUID v4). Made once per op at enqueue and reused
 * on every retry of the pipeline; replaced only when reconciliation rewrites
 * the payload and when a dead-letter retry follows a definitive refusal
 * (`retryKeyPolicy`, `docs/idempotency_policy.md`).
 *
 * @example
 * const op = { ...fields, idempotencyKey: createIdempotencyKey() };
 */
export function createIdempotencyKey(): IdempotencyKey {
  return uuidv4() as IdempotencyKey;
}

// Namespace of the name-based hash in `retryIdempotencyKey` (a fixed random UUID).
const RETRY_KEY_NAMESPACE = '710631c6-238b-4a21-949d-3d177f3620cb';

/**
 * The `Idempotency-Key` a dead-letter retry sends under after the server
 * refused `refusedKey`: derived from it (a name-based hash, shaped as a
 * UUID v4 like every key), not drawn at random, so every retry of the same
 * refused request — a double click, two tabs at once — goes out under one
 * key and the server applies it at most once. If that key is refused in
 * turn, the next retry derives a new one from it.
 *
 * @example
 * const next = retryIdempotencyKey(op.idempotencyKey); // same input, same key; never the input
 */
export function retryIdempotencyKey(refusedKey: IdempotencyKey): IdempotencyKey {
  return uuidv4({ random: parse(uuidv5(refusedKey, RETRY_KEY_NAMESPACE)) }) as IdempotencyKey;
}

/**
 * A new `Trace-Id` (UUID v4). Made once per op, stable across retries.
 *
 * @example
 * const traceId = createTraceId();
 */
export function createTraceId(): TraceId {
  return uuidv4() as TraceId;
}

/**
 * True for a well-formed UUID v4 (what an idempotency key must be).
 *
 * @example
 * isUuidV4(createIdempotencyKey()); // true
 * isUuidV4(createOpId()); // false (v7)
 */
export function isUuidV4(value: unknown): value is string {
  return typeof value === 'string' && validate(value) && version(value) === 4;
}
