import type { ErrorInfo } from '../errors/sync-error';
import type { FailureReason } from '../op/failure-reason';

/**
 * Which `Idempotency-Key` a dead-letter retry sends under: a fresh one, or
 * the op's own.
 */
export type RetryKey = 'newKey' | 'sameKey';

/** What the policy reads of a dead-letter record. */
export interface RetryKeyInput {
  readonly reason: FailureReason;
  readonly error: ErrorInfo | null;
}

// Reasons whose final answer can be the server's refusal of the request.
// Every other reason — exhausted, malformedResponse, corrupt, and any reason
// added later (e.g. a followed redirect) — keeps the key.
const REFUSAL_REASONS: ReadonlySet<FailureReason> = new Set<FailureReason>(['permanent', 'conflict', 'dropped']);

// 4xx codes that say the key already belongs to another request: its
// outcome is unknown, so a new key could apply the change twice.
const KEY_TAKEN_CODES: ReadonlySet<string> = new Set(['idempotency_key_mismatch', 'idempotency_key_in_use']);

/**
 * Decide the key a dead-letter retry (`failedOps.retry`) sends under
 * (`docs/idempotency_policy.md`, "Retry from the dead-letter queue").
 *
 * `newKey` only for a definitive refusal: the op failed on a 4xx answer
 * (`permanent` 400/403/404/410/413/422/other 4xx, a 409 domain conflict),
 * other than `idempotency_key_mismatch`/`_in_use`. A server that stores
 * answers per key replays that 4xx for the old key forever, and the 4xx
 * proves nothing was applied under it (an applied request would have been
 * replayed as its 2xx), so after the user fixes the cause only a new key
 * can succeed.
 *
 * `sameKey` whenever the server may have applied the op or its outcome is
 * unknown: exhausted transient retries (5xx, timeouts), a 2xx it could not
 * read (`malformedResponse`), a 3xx/1xx/invalid status, a failure with no
 * HTTP status, and any reason not listed above. The same key lets a server
 * that did apply it replay its answer instead of applying it again.
 *
 * Pure; driven by `test-vectors/retry_key_policy.json`.
 *
 * @example
 * retryKeyPolicy({ reason: 'permanent', error: { kind: 'permanent', status: 404 } }); // 'newKey'
 * retryKeyPolicy({ reason: 'exhausted', error: { kind: 'server', status: 503 } });   // 'sameKey'
 */
export function retryKeyPolicy(failure: RetryKeyInput): RetryKey {
  const { reason, error } = failure;
  if (!REFUSAL_REASONS.has(reason) || error === null) return 'sameKey';
  if (error.kind !== 'permanent' && error.kind !== 'conflict') return 'sameKey';
  const status = error.status;
  if (status === undefined || status < 400 || status > 499) return 'sameKey';
  if (error.code !== undefined && KEY_TAKEN_CODES.has(error.code)) return 'sameKey';
  return 'newKey';
}
