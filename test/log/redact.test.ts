import { AuthError, PermanentError, ValidationError } from '../../src/errors/sync-error';
import { REDACTED, isSensitiveKey, redact, redactString } from '../../src/log/redact';
import { fakeJwt } from '../observability/fixtures';

const JWT = fakeJwt({ sub: 'u1', exp: 2_000_000_000 });

describe('redactString', () => {
  it.each([
    ['an e-mail', 'user alice.smith+tag@mail.example.co.uk failed', 'user [email] failed'],
    ['a JWT', `token was ${JWT} ok`, 'token was [jwt] ok'],
    ['a bearer credential', 'Authorization: Bearer abc123.def', 'Authorization: [REDACTED]'],
    ['a basic credential', 'sent Basic dXNlcjpwYXNz', 'sent Basic [REDACTED]'],
    ['a query-string token', 'GET /x?access_token=s3cr3t&page=2', 'GET /x?access_token=[REDACTED]&page=2'],
    ['a password pair', 'password: hunter2, user ok', 'password: [REDACTED], user ok'],
    ['a cookie header', 'cookie=sid%3Dabc; path=/', 'cookie=[REDACTED]; path=/'],
    ['an api key', 'apiKey="k-123"', 'apiKey=[REDACTED]'],
    ['plain text', 'server error 503', 'server error 503'],
  ])('redacts %s', (_name, input, expected) => {
    expect(redactString(input)).toBe(expected);
  });

  it('cuts very long strings', () => {
    expect(redactString('x'.repeat(10_000)).length).toBeLessThan(2_100);
  });
});

describe('isSensitiveKey', () => {
  it.each([
    ['Authorization', true],
    ['authorization', true],
    ['accessToken', true],
    ['refresh_token', true],
    ['clientSecret', true],
    ['password', true],
    ['Set-Cookie', true],
    ['jwt', true],
    ['apiKey', true],
    ['x-api-key', true],
    ['payload', true],
    ['body', true],
    ['opId', false],
    ['type', false],
    ['attempt', false],
    ['status', false],
  ])('%s → %s', (key, expected) => {
    expect(isSensitiveKey(key)).toBe(expected);
  });
});

describe('redact', () => {
  it('replaces credential and user-data fields at any depth, whatever their value', () => {
    const input = {
      headers: { Authorization: 'Bearer x', 'Content-Type': 'application/json', Cookie: 'a=b' },
      nested: { deeper: { refreshToken: { any: 'shape' }, payload: ['anything'] } },
      payload: { note: 'private' },
      body: 'raw body',
      opId: 'abc',
    };
    expect(redact(input)).toEqual({
      headers: { Authorization: REDACTED, 'Content-Type': 'application/json', Cookie: REDACTED },
      nested: { deeper: { refreshToken: REDACTED, payload: REDACTED } },
      payload: REDACTED,
      body: REDACTED,
      opId: 'abc',
    });
  });

  it('does not mutate its input', () => {
    const input = { token: 't', user: 'a@b.io' };
    redact(input);
    expect(input).toEqual({ token: 't', user: 'a@b.io' });
  });

  it('redacts errors: fixed SyncError message kept, foreign messages dropped, cause chain, no stack', () => {
    const root = new Error(`db says bob@example.com used ${JWT}`);
    const err = new AuthError({ status: 401, code: 'token_expired', cause: root });
    const out = redact(err) as Record<string, unknown>;
    expect(out).toEqual({
      name: 'AuthError',
      message: 'authentication required',
      kind: 'auth',
      status: 401,
      code: 'token_expired',
      cause: { name: 'Error', message: REDACTED },
    });
    expect(JSON.stringify(out)).not.toContain('stack');
  });

  it('keeps a foreign error\'s name and code (e.g. ECONNRESET, AbortError), not its message', () => {
    const e = Object.assign(new TypeError('fetch failed for https://x?u=a@b.io'), { code: 'ECONNRESET' });
    expect(redact(e)).toEqual({ name: 'TypeError', message: REDACTED, code: 'ECONNRESET' });
  });

  it('redacts a ValidationError detail and a PermanentError cause object', () => {
    const v = redact(new ValidationError('invalidPayload', 'payload.email: got eve@example.org')) as { message: string };
    expect(v.message).toBe('invalid operation (invalidPayload): payload.email: got [email]');
    const p = redact(new PermanentError({ status: 400, cause: { response: { body: 'x', password: 'p' } } }));
    expect(p).toMatchObject({ cause: { response: { body: REDACTED, password: REDACTED } } });
  });

  it('survives cycles, depth, functions, symbols, bigint, getters that throw', () => {
    const cyclic: Record<string, unknown> = { name: 'c' };
    cyclic['self'] = cyclic;
    let deep: Record<string, unknown> = { leaf: true };
    for (let i = 0; i < 20; i++) deep = { next: deep };
    const hostile = Object.defineProperty({}, 'boom', {
      enumerable: true,
      get() {
        throw new Error('nope');
      },
    });
    const out = redact({ cyclic, deep, fn: () => 1, sym: Symbol('s'), big: 10n, hostile }) as Record<string, unknown>;
    expect(out['cyclic']).toEqual({ name: 'c', self: '[Circular]' });
    expect(JSON.stringify(out['deep'])).toContain('[Truncated]');
    expect(out['fn']).toBe('[Function]');
    expect(out['sym']).toBe('[Symbol]');
    expect(out['big']).toBe('10n');
    expect(out['hostile']).toEqual({ boom: '[Unreadable]' });
  });

  it('renders shared (non-cyclic) references in full', () => {
    const shared = { n: 1 };
    expect(redact({ a: shared, b: shared })).toEqual({ a: { n: 1 }, b: { n: 1 } });
  });

  it('redacts Headers and Map entries by key', () => {
    const h = new Headers({ authorization: 'Bearer x', accept: 'application/json' });
    expect(redact(h)).toEqual({ authorization: REDACTED, accept: 'application/json' });
    expect(redact(new Map([['sessionId', 's'], ['k', 'v']]))).toEqual({ sessionId: REDACTED, k: 'v' });
  });

  it('redacts e-mails used as keys', () => {
    expect(redact({ 'carol@example.com': 1 })).toEqual({ '[email]': 1 });
  });
});
