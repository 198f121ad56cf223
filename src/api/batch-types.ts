import type { SyncError } from '../errors/sync-error';
import type { ApiResponse } from './classified-exchange';

/**
 * One op inside a batch request: what `ApiRequest` carries for a single
 * send, minus the token and headers (those belong to the batch request).
 *
 * @example
 * const entry: BatchEntryRequest = { method: 'PATCH', path: '/todos/42', body: { done: true }, idempotencyKey, traceId };
 */
export interface BatchEntryRequest {
  readonly method: string;
  /** Path below `baseUrl`, e.g. `/todos/42` (the server routes it as if it had been sent alone). */
  readonly path: string;
  /** Wire body; undefined for none. */
  readonly body?: unknown;
  /** This op's own key: the server applies the entry under it (a repeat replays the stored answer). */
  readonly idempotencyKey: string;
  readonly traceId: string;
}

/**
 * A batch of ops sent as one `POST` to the batch endpoint
 * (`docs/api_envelope.md`, "Batch").
 *
 * @example
 * api.sendBatch({ path: '/batch', token, entries: [a, b, c] });
 */
export interface BatchRequest {
  /** The batch endpoint, below `baseUrl`, e.g. `/batch`. */
  readonly path: string;
  /** Bearer token; null sends no `Authorization` header. */
  readonly token: string | null;
  /** In the order the server must apply them. */
  readonly entries: readonly BatchEntryRequest[];
  /** Extra headers, as `ApiRequest.headers` (the client's own are dropped). */
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * One entry's outcome, in the order of `BatchRequest.entries`:
 * - `ok`: this entry's own 2xx (status and envelope `data`) — the only
 *   result that commits an op;
 * - `error`: classified exactly as a single response with that entry's
 *   status, error envelope and `retryAfter` (`PermanentError`,
 *   `ServerError`, `RateLimitError`, `ConflictError`, 409
 *   `idempotency_key_in_use`, `AuthError` …);
 * - `notApplied`: `424 Failed Dependency` — an earlier entry failed
 *   transiently and the server stopped; this one was not applied.
 *
 * @example
 * for (const [i, r] of results.entries()) if (r.kind === 'ok') commit(ops[i], r.response);
 */
export type BatchEntryResult =
  | { readonly kind: 'ok'; readonly response: ApiResponse }
  | { readonly kind: 'error'; readonly error: SyncError }
  | { readonly kind: 'notApplied' };
