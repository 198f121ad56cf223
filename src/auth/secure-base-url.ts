import { ValidationError } from '../errors/sync-error';

const isLoopbackIpv4 = (host: string): boolean => {
  const m = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  return m !== null && m.slice(1).every((o) => Number(o) <= 255);
};

/** True for `localhost`, `127.0.0.0/8` and `[::1]` (as `URL.hostname` spells them). */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  return host === 'localhost' || isLoopbackIpv4(host) || host === '[::1]' || host === '::1';
}

/**
 * Refuse a base URL that would send tokens and payloads in clear text:
 * `https:` is required unless the host is loopback (`localhost`,
 * `127.0.0.0/8`, `[::1]`, where `http:` is allowed for development and tests).
 * Also refused: unparseable URLs, other schemes, and credentials in the URL.
 * Throws `ValidationError('invalidOptions')`; the detail never repeats the URL.
 *
 * @example
 * assertSecureBaseUrl('https://api.example.com'); // ok
 * assertSecureBaseUrl('http://127.0.0.1:8080');  // ok (loopback)
 * assertSecureBaseUrl('http://api.example.com');  // throws ValidationError
 */
export function assertSecureBaseUrl(url: string, option = 'baseUrl'): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ValidationError('invalidOptions', `${option}: not an absolute URL`);
  }
  if (parsed.username !== '' || parsed.password !== '') {
    throw new ValidationError('invalidOptions', `${option}: must not contain credentials`);
  }
  if (parsed.protocol === 'https:') return parsed;
  if (parsed.protocol === 'http:') {
    if (isLoopbackHost(parsed.hostname)) return parsed;
    throw new ValidationError('invalidOptions', `${option}: https:// is required for a non-loopback host`);
  }
  throw new ValidationError('invalidOptions', `${option}: unsupported scheme (https:// required)`);
}
