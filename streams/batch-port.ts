import type { Observable } from 'rxjs';
import type { ApiResponse } from '../src/api/api-client';
import type { SyncError } from '../src/errors/sync-error';

// The batch contract shared with the API client (docs/api_envelope.md):
// these shapes mirror `src/api/batch-types.ts` exactly and are replaced by
// a re-export of it once both sides are merged.

/** One op of a batch request. */
export interface BatchEntryRequest {
  readonly method: string;
  readonly path: string;
  readonly body?: unknown;
  readonly idempotencyKey: string;
  readonly traceId: string;
}

/** A batch request: the entries in FIFO order, applied by the server in that order. */
export interface BatchRequest {
  /** The batch endpoint, below `baseUrl`, e.g. `/batch`. */
  readonly path: string;
  /** Bearer; null → no `Authorization` header. */
  readonly token: string | null;
  readonly entries: readonly BatchEntryRequest[];
  readonly headers?: Readonly<Record<string, string>>;
}

/** One entry's outcome, in the order of the request's entries. */
export type BatchEntryResult =
  | { readonly kind: 'ok'; readonly response: ApiResponse }
  | { readonly kind: 'error'; readonly error: SyncError }
  /** 424: an earlier entry failed transiently; this one was not applied. */
  | { readonly kind: 'notApplied' };

/**
 * The API client's batch call as the streams use it: one result per entry,
 * same order and length; whole-request failures error like `send`.
 *
 * @example
 * const sender: BatchSender = apiClient; // ApiClient has sendBatch
 */
export interface BatchSender {
  sendBatch(request: BatchRequest): Observable<readonly BatchEntryResult[]>;
}
