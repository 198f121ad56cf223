import * as E from 'fp-ts/Either';
import valid from '../../test-vectors/pending_op_valid.json';
import corrupt from '../../test-vectors/pending_op_corrupt.json';
import retryAfter from '../../test-vectors/pending_op_retry_after.json';
import {
  decodePendingOp,
  decodePendingOpJson,
  INVALID_JSON_MESSAGE,
  PENDING_OP_SCHEMA_VERSION,
} from '../../src/op/pending-op';
import { classifyResponse } from '../../src/policy/classify-response';
import { DEFAULT_BACKOFF_POLICY, retryDelay } from '../../src/policy/backoff';

interface CorruptCase {
  readonly name: string;
  readonly record?: unknown;
  readonly raw?: string;
  readonly field: string;
}

const validCases = valid.cases as ReadonlyArray<{ readonly name: string; readonly record: unknown }>;
const corruptCases = corrupt.cases as unknown as readonly CorruptCase[];

const decodeCase = (c: CorruptCase) => (c.raw !== undefined ? decodePendingOpJson(c.raw) : decodePendingOp(c.record));
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('decodePendingOp: valid vectors (test-vectors/pending_op_valid.json)', () => {
  test.each(validCases.map((c) => [c.name, c.record] as const))('%s', (_name, record) => {
    const r = decodePendingOp(record);
    expect(r).toEqual(E.right(record));
    // The same record read back from its stored text.
    expect(decodePendingOpJson(JSON.stringify(record))).toEqual(E.right(record));
  });
});

describe('decodePendingOp: corrupt vectors (test-vectors/pending_op_corrupt.json)', () => {
  test.each(corruptCases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    let result: E.Either<string, unknown> | undefined;
    expect(() => {
      result = decodeCase(c);
    }).not.toThrow();
    expect(result && E.isLeft(result)).toBe(true);
    if (!result || !E.isLeft(result)) return;
    // The message names the bad field as a path at the start of a clause.
    expect(result.left).toMatch(new RegExp(`(^|; )${escape(c.field)}(:|\\.)`));
    // Payload contents are never quoted.
    expect(result.left).not.toMatch(/Buy milk|Ada|example\.org/);
  });

  it('has at least one case of each required kind', () => {
    const names = corruptCases.map((c) => c.name).join('\n');
    expect(names).toMatch(/missing/);
    expect(names).toMatch(/truncated JSON/);
    expect(names).toMatch(/newer/);
    expect(names).toMatch(/UUID/);
    expect(corruptCases.some((c) => c.raw !== undefined)).toBe(true);
  });
});

describe('decode messages', () => {
  const base = validCases[1].record as Record<string, unknown>;

  it('quotes a bookkeeping value, as in "attempts: expected number, got "3""', () => {
    const r = decodePendingOp({ ...base, attempts: '3' });
    expect(r).toEqual(E.left('attempts: expected NonNegativeInt, got "3"'));
  });

  it('never quotes the root or a free-text field', () => {
    const text = '{"schemaVersion":1,"payload":{"password":"hunter2"}}';
    const r = decodePendingOp(text);
    expect(E.isLeft(r) && r.left).toMatch(/^\(root\): expected .*, got string$/);
    const tx = decodePendingOp({ ...base, txToken: 123456789 });
    expect(E.isLeft(tx) && tx.left).toBe('txToken: expected string, got number');
  });

  it('refuses a newer schema version as such', () => {
    const r = decodePendingOp({ ...base, schemaVersion: PENDING_OP_SCHEMA_VERSION + 1 });
    expect(r).toEqual(E.left(`schemaVersion: written by a newer version (2 > 1)`));
  });

  it('reports truncated text without its contents', () => {
    expect(decodePendingOpJson('{"payload":{"password":"hunt')).toEqual(E.left(INVALID_JSON_MESSAGE));
  });
});

describe('pending_op_retry_after.json', () => {
  it('decodes, and its lastError is what classifyResponse makes of the stored response', () => {
    const op = decodePendingOp(retryAfter.record);
    expect(E.isRight(op)).toBe(true);
    if (!E.isRight(op)) return;

    const res = retryAfter.response;
    const headers = new Map(Object.entries(res.headers).map(([k, v]) => [k.toLowerCase(), v]));
    const classified = classifyResponse(
      { status: res.status, headers: { get: (n) => headers.get(n.toLowerCase()) ?? null }, bodyText: res.bodyText },
      retryAfter.receivedAt,
    );
    expect(classified.ok).toBe(false);
    if (classified.ok) return;
    expect(classified.error.toInfo()).toEqual(op.right.lastError);
    expect(classified.error.consumesAttempt).toBe(false);

    // Whatever the jitter, the server's wait decides for the stored attempts.
    for (const r of [0, 0.5, 0.999]) {
      const { delayMs, fromRetryAfter } = retryDelay(classified.error, op.right.attempts, DEFAULT_BACKOFF_POLICY, () => r);
      expect(fromRetryAfter).toBe(true);
      expect(retryAfter.receivedAt + delayMs).toBe(op.right.nextAttemptAt);
    }
  });
});
