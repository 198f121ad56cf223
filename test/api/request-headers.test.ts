import { ENGINE_HEADERS, assertExtraHeaders, extraHeaders } from '../../src/api/request-headers';
import { ValidationError } from '../../src/errors/sync-error';

const SECRET = 's3cr3t-value';

const thrown = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
};

describe('assertExtraHeaders (the requestHeaders object, at construction)', () => {
  test.each<[string, unknown]>([
    ['an HTTP token name and a Latin-1 value', { 'X-App-Version': '2.1.0', traceparent: '00-ab-cd-01', 'X-Name': 'Zoë\there' }],
    ['no headers', {}],
  ])('accepts %s', (_name, headers) => {
    expect(() => assertExtraHeaders(headers)).not.toThrow();
  });

  test.each<[string, unknown, string]>([
    ['Authorization', { Authorization: `Bearer ${SECRET}` }, '"Authorization" is set by the engine'],
    ['authorization (any case)', { authorization: SECRET }, '"authorization" is set by the engine'],
    ['Idempotency-Key', { 'idempotency-KEY': SECRET }, 'is set by the engine'],
    ['Trace-Id', { 'Trace-Id': SECRET }, 'is set by the engine'],
    ['Content-Type', { 'content-type': SECRET }, 'is set by the engine'],
    ['Accept', { Accept: SECRET }, 'is set by the engine'],
    ['a name with a space', { [`X ${SECRET}`]: 'v' }, 'invalid header name'],
    ['an empty name', { '': SECRET }, 'invalid header name'],
    ['a value with CR LF', { 'X-A': `${SECRET}\r\nX-Injected: 1` }, '"X-A": expected a string without CR, LF'],
    ['a value with NUL', { 'X-A': `${SECRET}\0` }, '"X-A"'],
    ['a value outside Latin-1', { 'X-A': `${SECRET}\u2603` }, '"X-A"'],
    ['a value that is not a string', { 'X-A': 42 }, '"X-A"'],
    ['an array', [SECRET], 'expected an object of strings'],
    ['null', null, 'expected an object of strings'],
  ])('refuses %s with ValidationError(invalidOptions), naming the header but never a value', (_name, headers, detail) => {
    const err = thrown(() => assertExtraHeaders(headers));
    expect(err).toBeInstanceOf(ValidationError);
    expect(err).toMatchObject({ reason: 'invalidOptions' });
    expect((err as ValidationError).detail).toContain(detail);
    expect((err as Error).message).not.toContain(SECRET);
  });

  test('the engine headers are the five the API client sets', () => {
    expect([...ENGINE_HEADERS].sort()).toEqual(['accept', 'authorization', 'content-type', 'idempotency-key', 'trace-id']);
  });
});

describe('extraHeaders (per request)', () => {
  test("drops the engine's own headers in any case and keeps the rest", () => {
    expect(
      extraHeaders({ traceparent: 't', AUTHORIZATION: 'x', 'Idempotency-Key': 'x', 'trace-ID': 'x', 'Content-type': 'x', accept: 'x', 'X-B': 'b' }),
    ).toEqual({ traceparent: 't', 'X-B': 'b' });
    expect(extraHeaders(undefined)).toEqual({});
  });

  test('throws ValidationError for a name or value fetch would refuse, without the value', () => {
    const err = thrown(() => extraHeaders({ 'X-A': `${SECRET}\n` }));
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as Error).message).not.toContain(SECRET);
    expect(thrown(() => extraHeaders({ 'bad name': 'v' }))).toBeInstanceOf(ValidationError);
  });
});
