import { createIdempotencyKey, createOpId, createTraceId, isUuidV4 } from '../../src/op/ids';

describe('ids', () => {
  it('makes v4 idempotency and trace ids', () => {
    expect(isUuidV4(createIdempotencyKey())).toBe(true);
    expect(isUuidV4(createTraceId())).toBe(true);
    expect(createIdempotencyKey()).not.toBe(createIdempotencyKey());
  });

  it('makes op ids that sort in creation order', () => {
    const ids = Array.from({ length: 1000 }, () => createOpId());
    expect([...ids].sort()).toEqual(ids);
    expect(isUuidV4(ids[0])).toBe(false);
  });
});
