import { parseUuid, uuidV4, uuidV5 } from '../op/uuid';
import type { IdempotencyKey } from '../op/pending-op';

/**
 * A new `Idempotency-Key` (UUID v4). Made once per op at enqueue and reused
 * on every retry of the pipeline; replaced only when reconciliation rewrites
 * the payload (`rekeyForRewrite`) and when a dead-letter retry follows a
 * definitive refusal (`retriedOp`, `retryKeyPolicy`,
 * `docs/idempotency_policy.md`).
 *
 * @example
 * const op = { ...fields, idempotencyKey: createIdempotencyKey() };
 */
export function createIdempotencyKey(): IdempotencyKey {
  return uuidV4() as IdempotencyKey;
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
  return uuidV4(parseUuid(uuidV5(refusedKey, RETRY_KEY_NAMESPACE))) as IdempotencyKey;
}
