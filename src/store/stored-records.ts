import * as t from 'io-ts';
import { pipe } from '../fp/pipe';
import * as E from '../fp/either';
import type { FailedRecord } from './op-store';
import type { FailureReason } from '../op/failure-reason';
import { decodePendingOp, formatDecodeErrors, type PendingOp } from '../op/pending-op';
import { ValidationError, type ErrorInfo } from '../errors/sync-error';

/** Turns a parsed record read under `key` into its type, or a `Left` naming what is wrong (field paths only). */
export type RecordDecoder<A> = (u: unknown, key: string) => E.Either<string, A>;

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

/** A decoder from an io-ts codec; any mismatch is `record: unexpected shape` (no contents quoted). */
export function codecDecoder<A>(codec: t.Decoder<unknown, A>): RecordDecoder<A> {
  return (u) => pipe(codec.decode(u), E.mapLeft(() => 'record: unexpected shape'));
}

/** Decode a record of `pending_ops`: a valid op whose id is its storage key. */
export const decodeStoredOp: RecordDecoder<PendingOp> = (u, key) =>
  pipe(
    decodePendingOp(u),
    E.chain((op) => (op.id === key ? E.right(op) : E.left('id: does not match its storage key'))),
  );

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

/** An op as the JSON text `pending_ops` stores; throws `ValidationError` for an invalid or unserialisable op. */
export function serializeOp(op: PendingOp): string {
  const checked = decodePendingOp(op);
  if (E.isLeft(checked)) throw new ValidationError('invalidPayload', checked.left);
  try {
    return JSON.stringify(op);
  } catch {
    throw new ValidationError('notSerializable', 'payload');
  }
}

/** JSON text of any stored value, for keeping an unreadable record's bytes; never throws. */
export function safeStringify(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** The stored bytes of a record as text (a sealed record is already a string). */
export const rawText = (value: unknown): string => (typeof value === 'string' ? value : safeStringify(value));
