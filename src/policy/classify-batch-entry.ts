import type { SyncError } from '../errors/sync-error';
import { classifyResponse, type HttpResponseLike } from './classify-response';

/**
 * One entry of a batch answer as it arrives on the wire (`docs/api_envelope.md`,
 * "Batch"): the entry's own HTTP status, its envelope member (`data` or
 * `error`) and its `Retry-After` (delay-seconds or an HTTP-date).
 *
 * @example
 * const entry: BatchEntryAnswer = { status: 503, error: { code: 'busy' }, retryAfter: 2 };
 */
export interface BatchEntryAnswer {
  readonly status: number;
  readonly data?: unknown;
  readonly error?: unknown;
  readonly retryAfter?: number | string;
}

/**
 * What one entry's answer means for its op: its own 2xx (status and
 * envelope `data`), the failure a single request with that answer would
 * have had, or "not applied" (`424 Failed Dependency`: an earlier entry
 * failed transiently, so the server stopped before this one).
 *
 * @example
 * const o: BatchEntryOutcome = { kind: 'notApplied' };
 */
export type BatchEntryOutcome =
  | { readonly kind: 'ok'; readonly response: { readonly status: number; readonly data: unknown } }
  | { readonly kind: 'error'; readonly error: SyncError }
  | { readonly kind: 'notApplied' };

/** `424 Failed Dependency`: the entry was not applied because an earlier one failed transiently. */
export const BATCH_NOT_APPLIED_STATUS = 424;

const NOT_APPLIED: BatchEntryOutcome = Object.freeze({ kind: 'notApplied' });

/** The entry as the single response it stands for: its status, its envelope as the body, its Retry-After. */
function asResponse(entry: BatchEntryAnswer, date: string | null): HttpResponseLike {
  const envelope: { data?: unknown; error?: unknown } = {};
  if (Object.prototype.hasOwnProperty.call(entry, 'data')) envelope.data = entry.data;
  if (Object.prototype.hasOwnProperty.call(entry, 'error')) envelope.error = entry.error;
  // An entry is always a JSON object, so its body is one too ('{}' without
  // members: a 200 without `data` is `noData`), except a 204/205 without
  // members, which stands for the empty body of "no content".
  const empty = Object.keys(envelope).length === 0 && (entry.status === 204 || entry.status === 205);
  const bodyText = empty ? '' : JSON.stringify(envelope);
  const headers = new Map<string, string>();
  if (entry.retryAfter !== undefined) headers.set('retry-after', String(entry.retryAfter));
  if (date !== null) headers.set('date', date);
  return { status: entry.status, headers: { get: (name) => headers.get(name.toLowerCase()) ?? null }, bodyText };
}

/**
 * Classify one batch entry exactly as `classifyResponse` classifies a single
 * response with that entry's status, envelope and `Retry-After`
 * (`docs/error_mapping.md`), so an op's fate does not depend on whether it
 * travelled alone or in a batch. The one addition is `424` → `notApplied`
 * (the op was not applied; send it again, nothing spent).
 *
 * @param date the batch response's `Date` header (HTTP-date `retryAfter`
 *   values are measured against it), or null
 * @param now current time, epoch ms (as for `classifyResponse`)
 * @example
 * classifyBatchEntry({ status: 201, data: { id: '1' } }, null, now); // { kind: 'ok', response: { status: 201, data: { id: '1' } } }
 * classifyBatchEntry({ status: 429, retryAfter: 5 }, null, now);      // { kind: 'error', error: RateLimitError (retryAfterMs 5000) }
 * classifyBatchEntry({ status: 424 }, null, now);                      // { kind: 'notApplied' }
 */
export function classifyBatchEntry(entry: BatchEntryAnswer, date: string | null, now: number): BatchEntryOutcome {
  if (entry.status === BATCH_NOT_APPLIED_STATUS) return NOT_APPLIED;
  const classified = classifyResponse(asResponse(entry, date), now);
  return classified.ok ? { kind: 'ok', response: { status: entry.status, data: classified.data } } : { kind: 'error', error: classified.error };
}
