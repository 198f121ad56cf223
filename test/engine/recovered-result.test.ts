import vectors from '../../test-vectors/recovered_result.json';
import { recoveredResult, type DepartureEvidence } from '../../src/engine/recovered-result';
import type { ErrorInfo } from '../../src/errors/sync-error';
import { CANCELLED_MESSAGE, UNKNOWN_OUTCOME_MESSAGE, USER_MESSAGES } from '../../src/errors/user-messages';
import type { OpId, PendingOp } from '../../src/op/pending-op';
import type { FailureReason } from '../../src/store/op-store';

interface Row {
  readonly name: string;
  readonly evidence: { readonly kind: 'committed' | 'none' | 'failed'; readonly reason?: FailureReason; readonly error?: ErrorInfo | null };
  readonly lastError?: ErrorInfo;
  readonly expected: null | { readonly message?: string; readonly [k: string]: unknown };
}

const op = (lastError?: ErrorInfo): PendingOp =>
  ({ id: 'op-1' as OpId, txToken: 'tx-1', type: 'todo.create', payload: { id: 'a' }, ...(lastError ? { lastError } : {}) }) as unknown as PendingOp;

/** The table names messages by constant or error kind; the function returns the text. */
const messageOf = (m: string): string =>
  m === 'CANCELLED_MESSAGE' ? CANCELLED_MESSAGE : m === 'UNKNOWN_OUTCOME_MESSAGE' ? UNKNOWN_OUTCOME_MESSAGE : USER_MESSAGES[m as keyof typeof USER_MESSAGES];

describe('recoveredResult (test-vectors/recovered_result.json)', () => {
  const rows = vectors.cases as unknown as readonly Row[];

  test.each(rows.map((r) => [r.name, r] as const))('%s', (_name, row) => {
    const evidence: DepartureEvidence =
      row.evidence.kind === 'failed'
        ? {
            kind: 'failed',
            record: { id: 'op-1', reason: row.evidence.reason!, error: row.evidence.error ?? null, attempts: 1, failedAt: 0, op: op(row.lastError) },
          }
        : { kind: row.evidence.kind };
    const expected =
      row.expected === null
        ? undefined
        : {
            opId: 'op-1',
            txToken: 'tx-1',
            type: 'todo.create',
            ...row.expected,
            ...(row.expected.message === undefined ? {} : { message: messageOf(row.expected.message) }),
          };
    expect(recoveredResult(op(row.lastError), evidence)).toEqual(expected);
  });

  it('never says committed without the ledger: only the committed evidence gives it', () => {
    expect(rows.filter((r) => (r.expected as { outcome?: string } | null)?.outcome === 'committed').map((r) => r.evidence.kind)).toEqual(['committed']);
    const reasons = new Set(rows.map((r) => r.evidence.reason).filter(Boolean));
    for (const reason of ['permanent', 'exhausted', 'conflict', 'dropped', 'malformedResponse', 'redirect', 'cancelled']) expect(reasons).toContain(reason);
  });
});
