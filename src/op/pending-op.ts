import * as t from 'io-ts';
import { pipe } from 'fp-ts/function';
import * as E from 'fp-ts/Either';
import { validate as uuidValidate, version as uuidVersion } from 'uuid';

/** The schema version this build writes and reads. */
export const PENDING_OP_SCHEMA_VERSION = 1 as const;

const isUuidOfVersion = (u: unknown, v: number): u is string =>
  typeof u === 'string' && uuidValidate(u) && uuidVersion(u) === v;

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
      validation: null,
      storage: null,
    }),
  }),
  t.partial({ status: t.number, code: t.string, retryAfterMs: t.number }),
]);

/** The io-ts codec of a stored pending operation. */
export const PendingOpCodec = t.intersection([
  t.type({
    schemaVersion: t.literal(PENDING_OP_SCHEMA_VERSION),
    id: OpId,
    type: t.string,
    payload: t.unknown,
    idempotencyKey: IdempotencyKey,
    traceId: TraceId,
    txToken: t.string,
    createdAt: EpochMs,
    attempts: NonNegativeInt,
    nextAttemptAt: t.union([EpochMs, t.null]),
  }),
  t.partial({
    lastError: t.union([ErrorInfoCodec, t.null]),
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
}

const describe = (u: unknown): string => {
  if (u === undefined) return 'undefined';
  if (u === null) return 'null';
  if (typeof u === 'string') return JSON.stringify(u.length > 40 ? `${u.slice(0, 40)}…` : u);
  if (typeof u === 'object') return Array.isArray(u) ? 'array' : 'object';
  return String(u);
};

/**
 * Readable messages for decode errors: `attempts: expected NonNegativeInt,
 * got "3"`. Only field paths and primitive shapes, never payload contents.
 */
export function formatDecodeErrors(errors: t.Errors): string {
  const lines = errors.map((e) => {
    const path = e.context
      .map((c) => c.key)
      .filter((k) => k !== '' && !/^\d+$/.test(k))
      .join('.');
    const expected = e.context[e.context.length - 1]?.type.name ?? 'value';
    const inPayload = path === 'payload' || path.startsWith('payload.');
    const got = inPayload ? typeof e.value : describe(e.value);
    return `${path || '(root)'}: expected ${expected}, got ${got}`;
  });
  return [...new Set(lines)].join('; ');
}

/**
 * Decode an unknown stored value into a `PendingOp`. Never throws: a corrupt
 * record is a `Left` with a message naming the bad field(s).
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
