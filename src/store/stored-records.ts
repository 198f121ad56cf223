import * as t from 'io-ts';
import { pipe } from 'fp-ts/function';
import * as E from 'fp-ts/Either';
import type { FailedRecord, FailureReason } from './op-store';
import { decodePendingOp, formatDecodeErrors, type PendingOp } from '../op/pending-op';
import type { ErrorInfo } from '../errors/sync-error';

/** What the ledger keeps per idempotency key (encrypted like every record). */
export interface LedgerEntry {
  readonly opId: string;
  readonly completedAt: number;
}

export const LedgerEntryCodec = t.type({ opId: t.string, completedAt: t.number });

/** A pending-op retry in flight: lets `open()` finish or undo it after a crash. */
export interface RetryIntent {
  readonly newId: string;
}

export const RetryIntentCodec = t.type({ newId: t.string });

const FailureReasonCodec = t.keyof({
  permanent: null,
  exhausted: null,
  conflict: null,
  dropped: null,
  malformedResponse: null,
  redirect: null,
  corrupt: null,
  cancelled: null,
});

const StoredFailedCodec = t.intersection([
  t.type({
    id: t.string,
    reason: FailureReasonCodec,
    error: t.union([t.type({ kind: t.string }), t.null]),
    attempts: t.number,
    failedAt: t.number,
  }),
  t.partial({ op: t.unknown, raw: t.string, detail: t.string }),
]);

/** Parse JSON without throwing; a bad record is a `Left` with no contents in it. */
export function parseJson(text: string): E.Either<string, unknown> {
  try {
    return E.right(JSON.parse(text) as unknown);
  } catch {
    return E.left('json: truncated or invalid JSON');
  }
}

/** Decode a dead-letter record read back from `failed_ops`. */
export function decodeFailedRecord(u: unknown): E.Either<string, FailedRecord> {
  return pipe(
    StoredFailedCodec.decode(u),
    E.mapLeft(formatDecodeErrors),
    E.chain((r) => {
      const base = {
        id: r.id,
        reason: r.reason as FailureReason,
        error: r.error as ErrorInfo | null,
        attempts: r.attempts,
        failedAt: r.failedAt,
        ...(r.raw === undefined ? {} : { raw: r.raw }),
        ...(r.detail === undefined ? {} : { detail: r.detail }),
      };
      if (r.op === undefined) return E.right<string, FailedRecord>(base);
      return pipe(
        decodePendingOp(r.op),
        E.map((op: PendingOp): FailedRecord => ({ ...base, op })),
        E.mapLeft((d) => `op.${d}`),
      );
    }),
  );
}
