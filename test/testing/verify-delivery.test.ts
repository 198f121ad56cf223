import { verifyDelivery, percentile, type AppliedEffect } from '../../src/testing';

const effect = (seq: number, key: string, id: string, at: number): AppliedEffect => ({
  seq,
  idempotencyKey: key,
  resource: 'todos',
  id,
  action: 'update',
  at,
});

describe('verifyDelivery', () => {
  test('all applied once, in order: ok with latency percentiles', () => {
    const enqueued = [
      { idempotencyKey: 'a', createdAt: 0, entity: 'todos/1' },
      { idempotencyKey: 'b', createdAt: 0, entity: 'todos/1' },
      { idempotencyKey: 'c', createdAt: 0, entity: 'todos/2' },
    ];
    const r = verifyDelivery(enqueued, [effect(1, 'a', '1', 10), effect(2, 'b', '1', 20), effect(3, 'c', '2', 30)], []);
    expect(r).toMatchObject({ ok: true, appliedOnce: 3, lost: [], duplicated: [], foreignEffects: 0, orderViolations: [] });
    expect(r.latencyMs).toEqual({ p50: 20, p95: 30, p99: 30, max: 30 });
  });

  test('flags lost, duplicated, foreign and out-of-order effects; failed and pending are not lost', () => {
    const enqueued = ['a', 'b', 'c', 'd', 'e', 'f'].map((k) => ({ idempotencyKey: k, createdAt: 0 }));
    const applied = [effect(1, 'b', '1', 1), effect(2, 'a', '1', 2), effect(3, 'c', '2', 3), effect(4, 'c', '2', 4), effect(5, 'zz', '3', 5)];
    const r = verifyDelivery(enqueued, applied, [{ idempotencyKey: 'd', reason: 'permanent' }], ['e']);
    expect(r.ok).toBe(false);
    expect(r.lost).toEqual(['f']);
    expect(r.pending).toEqual(['e']);
    expect(r.duplicated).toEqual(['c']);
    expect(r.foreignEffects).toBe(1);
    expect(r.orderViolations).toEqual(['todos/1']);
    expect(r.failedByReason).toEqual({ permanent: 1 });
    expect(r.appliedOnce).toBe(2);
  });

  test('strictFifo checks the whole log; entity mismatches are misrouted', () => {
    const enqueued = [
      { idempotencyKey: 'a', createdAt: 0, entity: 'todos/1' },
      { idempotencyKey: 'b', createdAt: 0, entity: 'todos/2' },
    ];
    const swapped = [effect(1, 'b', '2', 1), effect(2, 'a', '1', 2)];
    expect(verifyDelivery(enqueued, swapped, []).ok).toBe(true);
    const strict = verifyDelivery(enqueued, swapped, [], [], { strictFifo: true });
    expect(strict).toMatchObject({ ok: false, fifoViolations: 1 });
    const wrong = verifyDelivery(enqueued, [effect(1, 'a', '9', 1), effect(2, 'b', '2', 2)], [], [], { strictFifo: true });
    expect(wrong).toMatchObject({ ok: false, misrouted: ['a'], fifoViolations: 0 });
  });

  test('a failed op the server applied is reported, not counted as lost or applied', () => {
    const r = verifyDelivery([{ idempotencyKey: 'a', createdAt: 0 }], [effect(1, 'a', '1', 5)], [
      { idempotencyKey: 'a', reason: 'malformedResponse' },
    ]);
    expect(r).toMatchObject({ ok: true, appliedOnce: 0, failedButApplied: ['a'], failedByReason: { malformedResponse: 1 } });
  });

  test('percentile is nearest-rank', () => {
    expect(percentile([], 50)).toBe(0);
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
    expect(percentile([1, 2, 3, 4], 95)).toBe(4);
  });
});
