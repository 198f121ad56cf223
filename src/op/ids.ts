import { v4 as uuidv4, v7 as uuidv7, validate, version } from 'uuid';
import type { IdempotencyKey, OpId, TraceId } from './pending-op';

/**
 * A new operation id: UUIDv7, whose first 48 bits are the Unix time in ms
 * and whose next bits are a monotonic counter within this JS realm, so ids
 * sort in enqueue order and are the queue's storage key. Across tabs or
 * processes two ids made in the same millisecond order arbitrarily; that is
 * the only order ambiguity, and it is between truly concurrent enqueues.
 */
export function createOpId(): OpId {
  return uuidv7() as OpId;
}

/** A new `Idempotency-Key` (UUID v4). Made once per op at enqueue. */
export function createIdempotencyKey(): IdempotencyKey {
  return uuidv4() as IdempotencyKey;
}

/** A new `Trace-Id` (UUID v4). Made once per op, stable across retries. */
export function createTraceId(): TraceId {
  return uuidv4() as TraceId;
}

/** True for a well-formed UUID v4 (what an idempotency key must be). */
export function isUuidV4(value: unknown): value is string {
  return typeof value === 'string' && validate(value) && version(value) === 4;
}
