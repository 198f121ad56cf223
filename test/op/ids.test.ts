import { createOpId, createTraceId, isUuidV4 } from '../../src/op/ids';

describe('ids', () => {
  it('makes v4 trace ids (idempotency keys: test/idempotency/idempotency-key.test.ts)', () => {
    expect(isUuidV4(createTraceId())).toBe(true);
  });

  it('makes op ids that sort in creation order', () => {
    const ids = Array.from({ length: 1000 }, () => createOpId());
    expect([...ids].sort()).toEqual(ids);
    expect(isUuidV4(ids[0])).toBe(false);
  });
});
