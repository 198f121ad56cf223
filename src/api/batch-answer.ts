import { isRight } from 'fp-ts/Either';
import { MalformedResponseError } from '../errors/sync-error';
import { classifyBatchEntry } from '../policy/classify-batch-entry';
import { classifyResponse, type HttpResponseLike } from '../policy/classify-response';
import { BatchResponseCodec } from './batch-codec';
import type { BatchEntryResult } from './batch-types';

/**
 * The `code` of the `MalformedResponseError` for a batch answer that cannot
 * be matched to its request: every entry's outcome is unknown, so the whole
 * batch is sent again under the same keys (the server replays what it
 * applied), counted as an ambiguous failure.
 *
 * @example
 * if (err instanceof MalformedResponseError && err.code === BATCH_MISMATCH) retryWholeBatch();
 */
export const BATCH_MISMATCH = 'batchMismatch';

const mismatch = (status: number): MalformedResponseError => new MalformedResponseError({ status, code: BATCH_MISMATCH });

function parse(text: string): { readonly ok: true; readonly value: unknown } | { readonly ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

/**
 * Read a batch answer for `count` entries. A non-2xx (or redirect) is the
 * whole request's failure, classified as for a single request (`413` is a
 * `PermanentError` with status 413: split the batch) and thrown. A 2xx must
 * hold exactly `count` results that pass `BatchResponseCodec`; anything else
 * (not JSON, wrong number of results, an entry without a status, a body past
 * `maxResponseBytes`) throws `MalformedResponseError` `batchMismatch`. Each
 * result is classified by `classifyBatchEntry`.
 *
 * @example
 * const read = (res: HttpResponseLike, at: number) => readBatchAnswer(res, at, entries.length);
 */
export function readBatchAnswer(res: HttpResponseLike, at: number, count: number): readonly BatchEntryResult[] {
  const { status } = res;
  if (!(status >= 200 && status <= 299) || res.redirected === true) {
    const classified = classifyResponse(res, at);
    // classifyResponse refuses every non-2xx and every followed redirect.
    if (!classified.ok) throw classified.error;
  }
  if (res.bodyOverLimit === true) throw mismatch(status);
  const parsed = parse(res.bodyText);
  if (!parsed.ok) throw mismatch(status);
  const decoded = BatchResponseCodec.decode(parsed.value);
  if (!isRight(decoded) || decoded.right.results.length !== count) throw mismatch(status);
  const date = res.headers.get('date');
  return decoded.right.results.map((entry) => classifyBatchEntry(entry, date, at));
}
