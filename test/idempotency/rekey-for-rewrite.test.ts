import { rekeyForRewrite } from '../../src/idempotency/rekey-for-rewrite';
import { isUuidV4 } from '../../src/op/ids';
import type { IdempotencyKey } from '../../src/op/pending-op';
import { makeOp } from '../store/support/ops';

describe('rekeyForRewrite', () => {
  const op = makeOp({ attempts: 3, nextAttemptAt: 999, lastError: { kind: 'server', status: 503 } });
  const conflict = { kind: 'conflict', status: 409, code: 'version_mismatch' } as const;

  it('a rewritten payload is a new request: new key, fresh budget, sent now, the conflict as lastError; id, type, tx and trace kept', () => {
    const next = rekeyForRewrite(op, { title: 'merged' }, conflict, 'new-key' as IdempotencyKey);
    expect(next).toEqual({
      ...op,
      payload: { title: 'merged' },
      idempotencyKey: 'new-key',
      attempts: 0,
      nextAttemptAt: null,
      lastError: conflict,
    });
  });

  it('by default mints a fresh random v4 key, never the old one', () => {
    const a = rekeyForRewrite(op, { title: 'merged' }, conflict);
    const b = rekeyForRewrite(op, { title: 'merged' }, conflict);
    expect(isUuidV4(a.idempotencyKey)).toBe(true);
    expect(a.idempotencyKey).not.toBe(op.idempotencyKey);
    expect(b.idempotencyKey).not.toBe(a.idempotencyKey);
  });

  it('leaves the input op untouched', () => {
    const before = structuredClone(op);
    rekeyForRewrite(op, { title: 'merged' }, conflict);
    expect(op).toEqual(before);
  });
});
