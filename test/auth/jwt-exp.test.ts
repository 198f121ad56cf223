import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeBase64Url, jwtExpiresAt } from '../../src/auth/jwt-exp';
import { fakeJwt } from '../observability/fixtures';

const b64url = (s: string): string => Buffer.from(s).toString('base64url');

describe('decodeBase64Url', () => {
  it.each([
    ['', ''],
    ['YQ', 'a'],
    ['YWI', 'ab'],
    ['YWJj', 'abc'],
    ['YQ==', 'a'],
    [b64url('{"x":"é→✓"}'), '{"x":"é→✓"}'],
    [b64url('\u00ff\u00fe?>'), '\u00ff\u00fe?>'], // exercises - and _ in the alphabet
  ])('%s → %s', (input, expected) => {
    expect(decodeBase64Url(input)).toBe(expected);
  });

  it.each([['a'], ['YQ=a'], ['Y+Q'], ['Y/Q'], ['YW J'], [Buffer.from([0xff, 0xfe]).toString('base64url')]])(
    'refuses %s',
    (input) => {
      expect(decodeBase64Url(input)).toBeUndefined();
    },
  );
});

describe('jwtExpiresAt', () => {
  it('reads exp (seconds) as epoch ms, without verifying the signature', () => {
    expect(jwtExpiresAt(fakeJwt({ sub: 'u', exp: 1_767_225_600 }))).toBe(1_767_225_600_000);
    expect(jwtExpiresAt(fakeJwt({ exp: 1_767_225_600.5 }))).toBe(1_767_225_600_500);
  });

  it.each([
    ['an opaque token', 'opaque-access-token'],
    ['two segments', `${b64url('{}')}.${b64url('{"exp":1}')}`],
    ['a non-JSON claims segment', `${b64url('{}')}.${b64url('not json')}.sig`],
    ['an array of claims', `${b64url('{}')}.${b64url('[1]')}.sig`],
    ['no exp', fakeJwt({ sub: 'u' })],
    ['a string exp', fakeJwt({ exp: '1767225600' })],
    ['a huge token', `${b64url('{}')}.${b64url(JSON.stringify({ exp: 1, pad: 'x'.repeat(20_000) }))}.sig`],
  ])('undefined for %s', (_name, token) => {
    expect(jwtExpiresAt(token)).toBeUndefined();
  });

  it('uses no Node Buffer (runs in browsers) and no second base64 decoder: the core\'s one in src/crypto/base64.ts', () => {
    const code = (file: string): string =>
      readFileSync(join(__dirname, '../..', file), 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
    const src = code('src/auth/jwt-exp.ts');
    expect(src).not.toMatch(/\bBuffer\b/);
    expect(src).not.toMatch(/\batob\(/);
    expect(src).toMatch(/import \{ fromBase64Url \} from '\.\.\/crypto\/base64'/);
    expect(code('src/crypto/base64.ts')).not.toMatch(/\bBuffer\b/);
  });
});
