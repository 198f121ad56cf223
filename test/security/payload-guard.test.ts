import fc from 'fast-check';
import { ValidationError, type ValidationReason } from '../../src/errors/sync-error';
import { PAYLOAD_LIMITS, assertSafePayload, safePayloadCopy, type PayloadLimits } from '../../src/security/payload-guard';

const nested = (depth: number): unknown => {
  let v: unknown = 'leaf';
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
};
const nestedArrays = (depth: number): unknown => {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
};
const cyclic = (): unknown => {
  const o: Record<string, unknown> = { a: { b: {} } };
  (o['a'] as { b: Record<string, unknown> }).b['back'] = o;
  return o;
};
const sparse = (): unknown => {
  const a: unknown[] = [];
  a.length = 1_000_000_000;
  return a;
};
class Todo {
  title = 'x';
}

function reject(payload: unknown, limits?: PayloadLimits): ValidationError {
  try {
    assertSafePayload(payload, limits);
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    return e as ValidationError;
  }
  throw new Error('expected assertSafePayload to throw');
}

describe('assertSafePayload', () => {
  it.each<[string, unknown]>([
    ['a plain object', { title: 'Buy milk', done: false, n: 3, tags: ['a', 'b'], meta: null }],
    ['a string', 'hello'],
    ['null', null],
    ['a number', 0],
    ['an empty array', []],
    ['a null-prototype object', Object.assign(Object.create(null) as object, { a: 1 })],
    ['an undefined object property (optional field)', { a: 1, b: undefined }],
    ['a shared (non-cyclic) reference', (() => { const s = { x: 1 }; return { a: s, b: s }; })()],
    ['nesting exactly at maxDepth', nested(PAYLOAD_LIMITS.maxDepth - 1)],
    ['keys named like the forbidden ones but different', { proto: 1, constructorName: 'x', __proto: 2 }],
    ['unicode', { s: 'é→✓😀' }],
  ])('accepts %s', (_name, payload) => {
    expect(() => assertSafePayload(payload)).not.toThrow();
  });

  it.each<[string, unknown, ValidationReason, string]>([
    // hostile shapes → invalidPayload
    ['deep objects', nested(PAYLOAD_LIMITS.maxDepth + 1), 'invalidPayload', 'nested deeper than 32'],
    ['deep arrays', nestedArrays(10_000), 'invalidPayload', 'nested deeper than 32'],
    ['a huge string', { note: 'x'.repeat(PAYLOAD_LIMITS.maxStringLength + 1) }, 'invalidPayload', 'payload.note: string longer'],
    ['a huge key', { ['k'.repeat(PAYLOAD_LIMITS.maxStringLength + 1)]: 1 }, 'invalidPayload', 'payload.<key>: string longer'],
    ['a huge total', { a: Array.from({ length: 10 }, () => 'y'.repeat(200_000)) }, 'invalidPayload', 'larger than 1000000 bytes'],
    ['many small items (600 000 × "1,": 1.2 MB of JSON)', Array.from({ length: 600_000 }, () => 1), 'invalidPayload', 'larger than'],
    ['an own __proto__ key', JSON.parse('{"a":{"__proto__":{"isAdmin":true}}}'), 'invalidPayload', 'payload.a.__proto__: forbidden key'],
    ['a constructor key', { constructor: { prototype: { x: 1 } } }, 'invalidPayload', 'payload.constructor: forbidden key'],
    ['a prototype key', { items: [{ prototype: 1 }] }, 'invalidPayload', 'payload.items[0].prototype: forbidden key'],
    // non-JSON values → notSerializable
    ['a BigInt', { n: 10n }, 'notSerializable', 'payload.n: BigInt'],
    ['a function', { f: () => 1 }, 'notSerializable', 'payload.f: function'],
    ['a symbol', { s: Symbol('x') }, 'notSerializable', 'payload.s: symbol'],
    ['undefined at the root', undefined, 'notSerializable', 'payload: undefined'],
    ['undefined in an array', { a: [1, undefined] }, 'notSerializable', 'payload.a[1]: undefined in array'],
    ['an array hole', { a: [1, , 3] }, 'notSerializable', 'payload.a[1]: array hole'],
    ['a sparse array of length 1e9', sparse(), 'notSerializable', 'payload[0]: array hole'],
    ['NaN', { x: NaN }, 'notSerializable', 'payload.x: NaN or Infinity'],
    ['Infinity', [-Infinity], 'notSerializable', 'payload[0]: NaN or Infinity'],
    ['a cycle', cyclic(), 'notSerializable', 'payload.a.b.back: cycle'],
    ['a self-containing array', (() => { const a: unknown[] = []; a.push(a); return a; })(), 'notSerializable', 'payload[0]: cycle'],
    ['a Date', { at: new Date(0) }, 'notSerializable', 'payload.at: Date'],
    ['a Map', { m: new Map() }, 'notSerializable', 'payload.m: not a plain object'],
    ['a Set', new Set([1]), 'notSerializable', 'payload: not a plain object'],
    ['a class instance', { t: new Todo() }, 'notSerializable', 'payload.t: not a plain object'],
    ['a typed array', { b: new Uint8Array(2) }, 'notSerializable', 'payload.b: not a plain object'],
    ['an object with toJSON', { v: { toJSON: () => 'x' } }, 'notSerializable', 'payload.v: object with toJSON'],
    ['a literal __proto__ (prototype swap)', { __proto__: { isAdmin: true } }, 'notSerializable', 'payload: not a plain object'],
    [
      'a throwing getter',
      Object.defineProperty({}, 'g', { enumerable: true, get: () => { throw new Error('x'); } }),
      'notSerializable',
      'payload.g: unreadable property',
    ],
  ])('refuses %s', (_name, payload, reason, detail) => {
    const e = reject(payload);
    expect(e.reason).toBe(reason);
    expect(e.code).toBe(reason);
    expect(e.detail).toContain(detail);
  });

  it('honours custom limits', () => {
    expect(reject({ a: { b: 1 } }, { maxDepth: 1 }).detail).toBe('payload.a: nested deeper than 1');
    expect(reject({ s: 'abcdef' }, { maxStringLength: 5 }).detail).toBe('payload.s: string longer than 5');
    expect(reject(['aaaa', 'bbbb'], { maxBytes: 10 }).detail).toBe('payload[1]: larger than 10 bytes');
  });

  it('never quotes a value, and hides keys that are not word-like', () => {
    const e = reject({ 'alice@example.com': { 'tok_9f8e7d6c5b': 10n } });
    expect(e.detail).toBe('payload.<key>.<key>: BigInt');
    expect(e.message).not.toMatch(/alice|tok_9f/);
  });

  it('accepts every JSON value that round-trips (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 10 }), (v) => {
        // fast-check's jsonValue may produce -0 and __proto__ keys; both are dealt with below
        const hasForbidden = /"(__proto__|constructor|prototype)":/.test(JSON.stringify(v));
        if (hasForbidden) expect(() => assertSafePayload(v)).toThrow(ValidationError);
        else expect(() => assertSafePayload(v)).not.toThrow();
      }),
    );
  });

  it('measures size as the exact length of the JSON text that is stored (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 5 }), (v) => {
        const len = JSON.stringify(v).length;
        if (/"(__proto__|constructor|prototype)":/.test(JSON.stringify(v))) return;
        expect(() => assertSafePayload(v, { maxBytes: len })).not.toThrow();
        expect(() => assertSafePayload(v, { maxBytes: len - 1 })).toThrow(ValidationError);
      }),
    );
  });

  it('counts escapes in full: a string of control characters is measured as its JSON text', () => {
    const s = '\u0000'.repeat(1000); // 1 000 characters, 6 000 of JSON
    expect(() => assertSafePayload({ s }, { maxBytes: 5_000 })).toThrow(ValidationError);
    expect(reject({ s }, { maxBytes: 5_000 }).detail).toBe('payload: larger than 5000 bytes');
    expect(() => assertSafePayload({ s }, { maxBytes: 6_010 })).not.toThrow();
  });
});

describe('safePayloadCopy: what is checked is what is stored', () => {
  const big = 'x'.repeat(5_000_000);

  it('reads a getter once: the copy holds the small value the checks saw, never the 5 MB one', () => {
    let reads = 0;
    const payload = {
      id: '1',
      get title(): string {
        reads += 1;
        return reads === 1 ? 'small' : big;
      },
    };
    const copy = safePayloadCopy(payload);
    expect(reads).toBe(1);
    expect(copy).toEqual({ id: '1', title: 'small' });
    expect(JSON.stringify(copy)).toBe('{"id":"1","title":"small"}');
  });

  it('a toJSON that appears after the check is not in the copy (the copy is serialized, not the caller\'s object)', () => {
    let reads = 0;
    const payload = { id: '1', title: 'small' };
    Object.defineProperty(payload, 'toJSON', {
      enumerable: false,
      get: () => (++reads === 1 ? undefined : () => ({ id: '1', title: big })),
    });
    const copy = safePayloadCopy(payload);
    expect(JSON.stringify(copy)).toBe('{"id":"1","title":"small"}');
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
  });

  it('a Proxy answering differently on every read: the copy holds one consistent answer', () => {
    let gets = 0;
    const payload = new Proxy({ id: '1', title: 't' } as Record<string, unknown>, {
      get: (target, key) => (key === 'title' ? (++gets === 1 ? 'small' : big) : target[key as string]),
    });
    expect(safePayloadCopy(payload)).toEqual({ id: '1', title: 'small' });
    expect(gets).toBe(1);
  });

  it('a getter or a Proxy trap that throws is notSerializable, naming the path', () => {
    const throwing = { a: Object.defineProperty({}, 'b', { enumerable: true, get: () => { throw new Error('secret-value'); } }) };
    const e1 = reject(throwing);
    expect(e1).toMatchObject({ reason: 'notSerializable', detail: 'payload.a.b: unreadable property' });
    expect(e1.message).not.toContain('secret-value');
    const keysTrap = { a: new Proxy({}, { ownKeys: () => { throw new Error('x'); } }) };
    expect(reject(keysTrap)).toMatchObject({ reason: 'notSerializable', detail: 'payload.a: unreadable property' });
  });

  it('is a fresh copy: changing the caller\'s object afterwards changes nothing', () => {
    const payload = { id: '1', tags: ['a'], meta: { n: 1, skip: undefined } };
    const copy = safePayloadCopy(payload) as typeof payload;
    payload.tags.push('b');
    payload.meta.n = 2;
    expect(copy).toEqual({ id: '1', tags: ['a'], meta: { n: 1 } });
    expect('skip' in copy.meta).toBe(false);
  });

  it('copies every JSON value to an equal value (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (v) => {
        if (/"(__proto__|constructor|prototype)":/.test(JSON.stringify(v))) return;
        expect(JSON.stringify(safePayloadCopy(v))).toBe(JSON.stringify(v));
      }),
    );
  });
});
