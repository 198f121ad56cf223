import { createIdempotencyKey, retryIdempotencyKey } from '../../src/idempotency/idempotency-key';
import { isUuidV4 } from '../../src/op/ids';
import { IdempotencyKey } from '../../src/op/pending-op';

describe('idempotency keys', () => {
  it('makes a new v4 key per call', () => {
    expect(isUuidV4(createIdempotencyKey())).toBe(true);
    expect(createIdempotencyKey()).not.toBe(createIdempotencyKey());
  });

  it('derives a dead-letter retry key from the refused one: a valid v4 key, the same for the same input, never the input', () => {
    const refused = createIdempotencyKey();
    const next = retryIdempotencyKey(refused);
    expect(IdempotencyKey.is(next)).toBe(true);
    expect(next).not.toBe(refused);
    expect(retryIdempotencyKey(refused)).toBe(next);
    // Refused again: the next retry gets yet another key.
    expect(retryIdempotencyKey(next)).not.toBe(next);
    expect(retryIdempotencyKey(next)).not.toBe(refused);
    const many = Array.from({ length: 1000 }, () => retryIdempotencyKey(createIdempotencyKey()));
    expect(new Set(many).size).toBe(1000);
  });
});
