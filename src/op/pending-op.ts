import * as t from 'io-ts';
import { pipe } from '../fp/pipe';
import * as E from '../fp/either';
import { isUuid as uuidValidate } from './uuid';

/** The schema version this build writes and reads. */
export const PENDING_OP_SCHEMA_VERSION = 1 as const;

// `uuidVersion` validates again before reading the version digit: after one
// `uuidValidate`, the digit at index 14 is the version (3 ids per op read).
const isUuidOfVersion = (u: unknown, v: number): u is string =>
  typeof u === 'string' && uuidValidate(u) && u.charCodeAt(14) === 48 + v;

interface OpIdBrand {
  readonly OpId: unique symbol;
}
/** Operation id: a UUIDv7, so ids sort in enqueue order (the queue's key). */
export const OpId = t.brand(t.string, (s): s is t.Branded<string, OpIdBrand> => isUuidOfVersion(s, 7), 'OpId');
export type OpId = t.TypeOf<typeof OpId>;

interface IdempotencyKeyBrand {
  readonly IdempotencyKey: unique symbol;
}
/** The `Idempotency-Key` of an op: a UUID v4 made once at enqueue. */
export const IdempotencyKey = t.brand(
  t.string,
  (s): s is t.Branded<string, IdempotencyKeyBrand> => isUuidOfVersion(s, 4),
  'IdempotencyKey',
);
export type IdempotencyKey = t.TypeOf<typeof IdempotencyKey>;

interface TraceIdBrand {
  readonly TraceId: unique symbol;
}
/** The `Trace-Id` of an op: a UUID v4, stable across retries. */
export const TraceId = t.brand(t.string, (s): s is t.Branded<string, TraceIdBrand> => isUuidOfVersion(s, 4), 'TraceId');
export type TraceId = t.TypeOf<typeof TraceId>;

const NonNegativeInt = t.brand(
  t.number,
  (n): n is t.Branded<number, { readonly NonNegativeInt: unique symbol }> => Number.isInteger(n) && n >= 0,
  'NonNegativeInt',
);

const EpochMs = t.brand(
  t.number,
  (n): n is t.Branded<number, { readonly EpochMs: unique symbol }> => Number.isFinite(n) && n >= 0,
  'EpochMs',
);

// A stored payload is any JSON value, null included, but must be there: JSON
// cannot hold `undefined`, so a missing key means a damaged record.
const JsonPresent = new t.Type<unknown, unknown, unknown>(
  'JsonValue',
  (u): u is unknown => u !== undefined,
  (u, c) => (u === undefined ? t.failure(u, c) : t.success(u)),
  t.identity,
);

const ErrorInfoCodec = t.intersection([
  t.type({
    kind: t.keyof({
      network: null,
      timeout: null,
      server: null,
      rateLimited: null,
      auth: null,
      permanent: null,
      conflict: null,
      malformedResponse: null,
      redirect: null,
      validation: null,
      storage: null,
    }),
  }),
  t.partial({ status: t.number, code: t.string, retryAfterMs: t.number, redirectOrigin: t.string }),
]);

// An account id is the app's own non-empty string; "no account" is the
// field's absence (records from builds before accounts have none).
const AccountId = t.refinement(t.string, (s) => s.length > 0, 'AccountId');

/** The io-ts codec of a stored pending operation. */
export const PendingOpCodec = t.intersection([
  t.type({
    schemaVersion: t.literal(PENDING_OP_SCHEMA_VERSION),
    id: OpId,
    type: t.string,
    payload: JsonPresent,
    idempotencyKey: IdempotencyKey,
    traceId: TraceId,
    txToken: t.string,
    createdAt: EpochMs,
    attempts: NonNegativeInt,
    nextAttemptAt: t.union([EpochMs, t.null]),
  }),
  t.partial({
    lastError: t.union([ErrorInfoCodec, t.null]),
    accountId: AccountId,
  }),
]);

/**
 * An operation as it sits in the queue. `payload` is the app's (local)
 * payload; the router turns it into the wire body when sending.
 */
export interface PendingOp {
  readonly schemaVersion: typeof PENDING_OP_SCHEMA_VERSION;
  readonly id: OpId;
  readonly type: string;
  readonly payload: unknown;
  readonly idempotencyKey: IdempotencyKey;
  readonly traceId: TraceId;
  readonly txToken: string;
  /** Enqueue time, epoch milliseconds. */
  readonly createdAt: number;
  /** Attempts that consumed the transient-error budget so far. */
  readonly attempts: number;
  /** Earliest time of the next attempt (epoch ms), or null for "now". */
  readonly nextAttemptAt: number | null;
  readonly lastError?: import('../errors/sync-error').ErrorInfo | null;
  /**
   * The account that enqueued the op (the app's id for it, never a token):
   * the engine sends it only while that account is signed in. Absent: no
   * account (enqueued with no `account$`, or by a build before accounts),
   * sent with whatever credentials are current, as before.
   */
  readonly accountId?: string;
}

// Fields whose (malformed) value is safe and useful to quote in a decode
// message: bookkeeping scalars and ids, never payloads, tokens or free text.
const QUOTABLE_FIELDS: ReadonlySet<string> = new Set([
  'schemaVersion',
  'id',
  'type',
  'idempotencyKey',
  'traceId',
  'createdAt',
  'attempts',
  'nextAttemptAt',
  'failedAt',
  'reason',
  'kind',
  'status',
  'retryAfterMs',
]);

const shape = (u: unknown): string => (u === null ? 'null' : Array.isArray(u) ? 'array' : typeof u);

const describe = (u: unknown, quotable: boolean): string => {
  if (!quotable) return shape(u);
  if (u === undefined) return 'undefined';
  if (u === null) return 'null';
  if (typeof u === 'string') return JSON.stringify(u.length > 40 ? `${u.slice(0, 40)}…` : u);
  if (typeof u === 'object') return Array.isArray(u) ? 'array' : 'object';
  return String(u);
};

/**
 * Readable messages for decode errors: `attempts: expected NonNegativeInt,
 * got "3"`. Field paths and types; a value is quoted only for bookkeeping
 * fields (ids, counters, timestamps), never for the root, a payload or
 * free text.
 *
 * @example
 * pipe(PendingOpCodec.decode(u), E.mapLeft(formatDecodeErrors));
 * // Left('attempts: expected NonNegativeInt, got "3"')
 */
export function formatDecodeErrors(errors: t.Errors): string {
  const lines = errors.map((e) => {
    const keys = e.context
      .map((c) => c.key)
      .filter((k) => k !== '' && !/^\d+$/.test(k));
    const path = keys.join('.');
    const expected = e.context[e.context.length - 1]?.type.name ?? 'value';
    const inPayload = keys.includes('payload');
    const last = keys[keys.length - 1];
    const quotable = !inPayload && last !== undefined && QUOTABLE_FIELDS.has(last);
    return `${path || '(root)'}: expected ${expected}, got ${describe(e.value, quotable)}`;
  });
  return [...new Set(lines)].join('; ');
}

/**
 * Decode an unknown stored value into a `PendingOp`. Never throws: a corrupt
 * record is a `Left` with a message naming the bad field(s). A record
 * written by a newer schema version is refused as such, not mis-read.
 *
 * @example
 * const r = decodePendingOp(JSON.parse(text));
 * if (E.isLeft(r)) quarantine(key, r.left); // "attempts: expected NonNegativeInt, got \"3\""
 * else process(r.right);
 */
export function decodePendingOp(u: unknown): E.Either<string, PendingOp> {
  if (typeof u === 'object' && u !== null && 'schemaVersion' in u) {
    const v = (u as { schemaVersion: unknown }).schemaVersion;
    if (typeof v === 'number' && v > PENDING_OP_SCHEMA_VERSION) {
      return E.left(`schemaVersion: written by a newer version (${v} > ${PENDING_OP_SCHEMA_VERSION})`);
    }
  }
  return pipe(
    PendingOpCodec.decode(u),
    E.mapLeft(formatDecodeErrors),
    E.map((op) => op as PendingOp),
  );
}

/** The Left of `decodePendingOpJson` for text that is not JSON. */
export const INVALID_JSON_MESSAGE = 'json: truncated or invalid JSON';

/**
 * Parse and decode a stored record's JSON text. Never throws: text that is
 * not JSON (a truncated write) is `Left('json: truncated or invalid JSON')`,
 * a record that is not a valid op is the `decodePendingOp` Left.
 *
 * @example
 * decodePendingOpJson('{"schemaVersion":1,"id":"01'); // Left('json: truncated or invalid JSON')
 */
export function decodePendingOpJson(text: string): E.Either<string, PendingOp> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text) as unknown;
  } catch {
    return E.left(INVALID_JSON_MESSAGE);
  }
  return decodePendingOp(parsed);
}
