import { assertSecureBaseUrl, isLoopbackHost } from '../../src/auth/secure-base-url';
import { ValidationError } from '../../src/errors/sync-error';

describe('assertSecureBaseUrl', () => {
  it.each([
    ['https://api.example.com'],
    ['https://api.example.com:8443/v1/'],
    ['http://localhost:3000'],
    ['http://LOCALHOST'],
    ['http://127.0.0.1:8080/api'],
    ['http://127.255.10.3'],
    ['http://[::1]:9000'],
    ['https://10.0.0.5'],
  ])('accepts %s', (url) => {
    expect(assertSecureBaseUrl(url).href).toBe(new URL(url).href);
  });

  it.each([
    ['http://api.example.com', 'https:// is required'],
    ['http://10.0.0.5', 'https:// is required'],
    ['http://128.0.0.1', 'https:// is required'],
    ['http://localhost.example.com', 'https:// is required'],
    ['http://127.0.0.1.nip.io', 'https:// is required'],
    ['http://[::2]', 'https:// is required'],
    ['ws://localhost', 'unsupported scheme'],
    ['ftp://example.com', 'unsupported scheme'],
    ['file:///etc/passwd', 'unsupported scheme'],
    ['api.example.com', 'not an absolute URL'],
    ['', 'not an absolute URL'],
    ['https://user:pw@api.example.com', 'must not contain credentials'],
  ])('refuses %s with ValidationError(invalidOptions)', (url, why) => {
    let thrown: unknown;
    try {
      assertSecureBaseUrl(url);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(ValidationError);
    const v = thrown as ValidationError;
    expect(v.reason).toBe('invalidOptions');
    expect(v.detail).toContain(why);
    expect(v.detail).toMatch(/^baseUrl: /);
  });

  it('names the option it checks', () => {
    expect(() => assertSecureBaseUrl('http://x.io', 'authUrl')).toThrow(/authUrl: https/);
  });
});

describe('isLoopbackHost', () => {
  it.each([
    ['localhost', true],
    ['localhost.', true],
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['[::1]', true],
    ['127.0.0.256', false],
    ['0.0.0.0', false],
    ['example.com', false],
  ])('%s → %s', (host, expected) => {
    expect(isLoopbackHost(host)).toBe(expected);
  });
});
