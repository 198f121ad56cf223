import { IdempotencyLayer, canonical, parseIdempotencyKey, requestFingerprint } from '../../src/testing/idempotency-layer';

const answer = (status: number) => ({ status, body: `{"n":${status}}`, headers: {} });

describe('IdempotencyLayer (the reference backend\'s key → stored answer)', () => {
  const fp = requestFingerprint('POST', '/todos', { json: { id: 'a', title: 'x' } });

  it('a new key is taken: a repeat meanwhile is in use; once settled, the same request replays, a different one is a mismatch', () => {
    const layer = new IdempotencyLayer(() => 0, 1_000);
    const first = layer.claim('k', fp);
    expect(first.kind).toBe('new');
    expect(layer.claim('k', fp)).toEqual({ kind: 'inUse' });
    if (first.kind === 'new') first.settle(answer(201));
    expect(layer.claim('k', fp)).toEqual({ kind: 'replay', answer: answer(201) });
    expect(layer.claim('k', requestFingerprint('POST', '/todos', { json: { id: 'a', title: 'y' } }))).toEqual({ kind: 'mismatch' });
  });

  it('release gives the key up; without a key nothing is stored', () => {
    const layer = new IdempotencyLayer(() => 0, 1_000);
    const taken = layer.claim('k', fp);
    if (taken.kind === 'new') taken.release();
    expect(layer.claim('k', fp).kind).toBe('new');
    const none = layer.claim(undefined, fp);
    if (none.kind === 'new') none.settle(answer(201));
    expect(layer.claim(undefined, fp).kind).toBe('new');
  });

  it('a stored answer expires after the TTL (a pending one does not)', () => {
    let now = 0;
    const layer = new IdempotencyLayer(() => now, 1_000);
    const done = layer.claim('done', fp);
    if (done.kind === 'new') done.settle(answer(200));
    layer.claim('pending', fp);
    now = 1_000;
    expect(layer.claim('done', fp).kind).toBe('new');
    expect(layer.claim('pending', fp)).toEqual({ kind: 'inUse' });
  });

  it('fingerprints ignore key order, and fall back to the raw text for a non-JSON body', () => {
    expect(canonical({ b: 1, a: [{ d: 2, c: 3 }] })).toBe('{"a":[{"c":3,"d":2}],"b":1}');
    expect(requestFingerprint('POST', '/todos', { json: { title: 'x', id: 'a' } })).toBe(fp);
    expect(requestFingerprint('PATCH', '/todos', { json: { id: 'a', title: 'x' } })).not.toBe(fp);
    expect(requestFingerprint('POST', '/todos', { text: '{oops' })).not.toBe(requestFingerprint('POST', '/todos', { text: '{oops2' }));
  });

  it.each([
    ['"k-1"', 'k-1'],
    [' k-2 ', 'k-2'],
    [undefined, undefined],
    [['a', 'b'], undefined],
  ])('parses the Idempotency-Key header %p', (raw, key) => {
    expect(parseIdempotencyKey(raw as string | string[] | undefined)).toBe(key);
  });
});
