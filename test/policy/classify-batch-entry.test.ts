import fc from 'fast-check';
import vectors from '../../test-vectors/batch_entry.json';
import type { ConflictError } from '../../src/errors/sync-error';
import { expectSyncError, type ExpectedSyncError } from '../support/expect-sync-error';
import { classifyBatchEntry, type BatchEntryAnswer } from '../../src/policy/classify-batch-entry';
import { classifyResponse } from '../../src/policy/classify-response';

interface Expected extends ExpectedSyncError {
  readonly ok?: boolean;
  readonly notApplied?: boolean;
  readonly data?: unknown;
  readonly details?: unknown;
}
interface Row {
  readonly name: string;
  readonly entry: BatchEntryAnswer;
  readonly date?: string;
  readonly expected: Expected;
}

const rows = vectors.cases as unknown as readonly Row[];

describe('classifyBatchEntry (test-vectors/batch_entry.json)', () => {
  test.each(rows.map((r) => [r.name, r] as const))('%s', (_name, row) => {
    const got = classifyBatchEntry(row.entry, row.date ?? null, vectors.now);
    const e = row.expected;
    if (e.notApplied === true) {
      expect(got).toEqual({ kind: 'notApplied' });
      return;
    }
    if (e.ok === true) {
      expect(got).toEqual({ kind: 'ok', response: { status: e.status, data: e.data } });
      return;
    }
    expect(got.kind).toBe('error');
    if (got.kind !== 'error') return;
    if (e.details !== undefined) expect((got.error as ConflictError).details).toEqual(e.details);
    // Nothing the server wrote reaches the message or the stored summary.
    expectSyncError(got.error, e, /alice@|Sign in|expected string/);
  });

  it('covers every status class of a single response, and 424', () => {
    const statuses = new Set(rows.map((r) => r.entry.status));
    for (const s of [200, 201, 204, 302, 400, 401, 403, 404, 408, 409, 413, 422, 424, 425, 429, 500, 503, 504]) expect(statuses).toContain(s);
  });
});

describe('classifyBatchEntry (properties)', () => {
  // The entry, written out as the single response it stands for.
  const single = (entry: BatchEntryAnswer) => {
    const body: Record<string, unknown> = {};
    if ('data' in entry) body.data = entry.data;
    if ('error' in entry) body.error = entry.error;
    const headers: Record<string, string> = entry.retryAfter === undefined ? {} : { 'retry-after': String(entry.retryAfter) };
    return { status: entry.status, headers: { get: (n: string) => headers[n.toLowerCase()] ?? null }, bodyText: Object.keys(body).length === 0 && [204, 205].includes(entry.status) ? '' : JSON.stringify(body) };
  };

  it('classifies every entry but 424 exactly as classifyResponse classifies the same single response', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 100, max: 599 }).filter((s) => s !== 424),
        fc.option(fc.jsonValue(), { nil: undefined }),
        fc.option(fc.record({ code: fc.oneof(fc.string(), fc.constantFrom('idempotency_key_in_use', 'version_conflict')), details: fc.jsonValue() }), { nil: undefined }),
        fc.option(fc.oneof(fc.nat({ max: 3600 }), fc.string({ maxLength: 30 })), { nil: undefined }),
        (status, data, error, retryAfter) => {
          const entry: BatchEntryAnswer = {
            status,
            ...(data === undefined ? {} : { data }),
            ...(error === undefined ? {} : { error }),
            ...(retryAfter === undefined ? {} : { retryAfter }),
          };
          const now = 1445412480000;
          const got = classifyBatchEntry(entry, null, now);
          const want = classifyResponse(single(entry), now);
          if (want.ok) {
            expect(got).toEqual({ kind: 'ok', response: { status, data: want.data } });
          } else {
            expect(got.kind).toBe('error');
            if (got.kind === 'error') {
              expect(got.error.constructor).toBe(want.error.constructor);
              expect(got.error.toInfo()).toEqual(want.error.toInfo());
              expect(got.error.consumesAttempt).toBe(want.error.consumesAttempt);
            }
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
