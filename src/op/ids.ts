import { asyncScheduler } from 'rxjs';
import { isUuid, uuidV4, uuidV7 } from './uuid';
import type { OpId, TraceId } from './pending-op';

/**
 * A new operation id: UUIDv7, whose first 48 bits are the Unix time in ms
 * and whose next bits are a monotonic counter within this JS realm, so ids
 * sort in enqueue order and are the queue's storage key. Across tabs or
 * processes two ids made in the same millisecond order arbitrarily; that is
 * the only order ambiguity, and it is between truly concurrent enqueues.
 * The time is the wall clock (a v7 id carries Unix time by definition, as
 * it did from the `uuid` package); the counter keeps ids in order even when
 * the clock steps back.
 *
 * @example
 * const id = createOpId(); // '019ac309-f100-7a47-…'
 */
export function createOpId(): OpId {
  return uuidV7(asyncScheduler.now()) as OpId;
}

/**
 * A new `Trace-Id` (UUID v4). Made once per op, stable across retries.
 *
 * @example
 * const traceId = createTraceId();
 */
export function createTraceId(): TraceId {
  return uuidV4() as TraceId;
}

/**
 * True for a well-formed UUID v4 (what an idempotency key must be).
 *
 * @example
 * isUuidV4(createIdempotencyKey()); // true
 * isUuidV4(createOpId()); // false (v7)
 */
export function isUuidV4(value: unknown): value is string {
  return isUuid(value) && value.charCodeAt(14) === 52; // '4'
}
