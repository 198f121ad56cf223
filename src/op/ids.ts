import { v4 as uuidv4, v7 as uuidv7, validate, version } from 'uuid';
import type { OpId, TraceId } from './pending-op';

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
