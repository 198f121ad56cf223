import * as uuid from 'uuid';
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

  it('derives the retry key exactly as earlier versions did with the uuid package (v4 from the v5 hash)', () => {
    // Two tabs on two versions of the package must derive the same key.
    const namespace = '710631c6-238b-4a21-949d-3d177f3620cb';
    for (let i = 0; i < 100; i += 1) {
      const refused = createIdempotencyKey();
      expect(retryIdempotencyKey(refused)).toBe(uuid.v4({ random: uuid.parse(uuid.v5(refused, namespace)) }));
    }
  });
});
