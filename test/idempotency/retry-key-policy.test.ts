import vectors from '../../test-vectors/retry_key_policy.json';
import { retryKeyPolicy, type RetryKey, type RetryKeyInput } from '../../src/idempotency/retry-key-policy';

interface Row extends RetryKeyInput {
  readonly name: string;
  readonly expected: RetryKey;
}

describe('retryKeyPolicy (test-vectors/retry_key_policy.json)', () => {
  const rows = vectors.cases as unknown as readonly Row[];

  test.each(rows.map((r) => [r.name, r] as const))('%s', (_name, row) => {
    expect(retryKeyPolicy({ reason: row.reason, error: row.error })).toBe(row.expected);
  });

  it('covers every failure reason, both answers, and the refusal statuses the contract names', () => {
    const reasons = new Set(rows.map((r) => r.reason as string));
    for (const reason of ['permanent', 'exhausted', 'conflict', 'dropped', 'malformedResponse', 'corrupt', 'redirect']) {
      expect(reasons).toContain(reason);
    }
    const refused = rows.filter((r) => r.expected === 'newKey').map((r) => r.error?.status);
    expect(refused).toEqual(expect.arrayContaining([400, 403, 404, 409, 410, 413, 422]));
    expect(rows.some((r) => r.expected === 'sameKey' && r.error?.status === 422)).toBe(true);
  });
});

describe('retryKeyPolicy, beyond the table', () => {
  it('keeps the key for a reason it does not know (a later build may add one): the safe default', () => {
    const unknown = { reason: 'somethingNew', error: { kind: 'permanent', status: 400 } } as unknown as RetryKeyInput;
    expect(retryKeyPolicy(unknown)).toBe('sameKey');
  });

  it('for a permanent failure, gives a new key for exactly the 4xx statuses', () => {
    for (let status = 100; status < 700; status++) {
      const got = retryKeyPolicy({ reason: 'permanent', error: { kind: 'permanent', status } });
      expect([status, got]).toEqual([status, status >= 400 && status <= 499 ? 'newKey' : 'sameKey']);
    }
  });
});
