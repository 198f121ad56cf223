import {
  NetworkError,
  PermanentError,
  ServerError,
  SyncError,
  TimeoutError,
} from '../../src/errors/sync-error';
import { classifyError, UNEXPECTED_ERROR_CODE } from '../../src/policy/classify-error';

const SECRET_URL = 'https://api.example.com/contacts?access_token=eyJhbGciOiJIUzI1NiJ9.secret';

const withCause = (message: string, cause: unknown): Error => new TypeError(message, { cause });
const nodeError = (code: string): Error => Object.assign(new Error(`connect ${code} 10.0.0.1:443 ${SECRET_URL}`), { code });
const fetchError = (type: string, code?: string): Error =>
  Object.assign(new Error(`request to ${SECRET_URL} failed`), { name: 'FetchError', type, code });

describe('classifyError', () => {
  const cases: ReadonlyArray<readonly [string, unknown, new (...args: never[]) => SyncError, string | undefined]> = [
    ['browser fetch TypeError (offline, DNS, CORS)', new TypeError(`Failed to fetch ${SECRET_URL}`), NetworkError, 'TypeError'],
    ['undici "fetch failed" caused by ECONNRESET', withCause('fetch failed', nodeError('ECONNRESET')), NetworkError, 'TypeError'],
    ['undici cause ECONNREFUSED', withCause('fetch failed', nodeError('ECONNREFUSED')), NetworkError, 'TypeError'],
    ['undici cause ENOTFOUND', withCause('fetch failed', nodeError('ENOTFOUND')), NetworkError, 'TypeError'],
    ['undici cause UND_ERR_SOCKET', withCause('fetch failed', { code: 'UND_ERR_SOCKET' }), NetworkError, 'TypeError'],
    ['undici headers timeout', withCause('fetch failed', { code: 'UND_ERR_HEADERS_TIMEOUT' }), TimeoutError, 'TypeError'],
    ['a bare socket error', nodeError('EPIPE'), NetworkError, 'Error'],
    ['DOMException AbortError from our timeout controller', new DOMException('The operation was aborted.', 'AbortError'), TimeoutError, 'AbortError'],
    ['DOMException TimeoutError from AbortSignal.timeout', new DOMException('signal timed out', 'TimeoutError'), TimeoutError, 'TimeoutError'],
    ['node-fetch (cross-fetch) system error', fetchError('system', 'ECONNRESET'), NetworkError, 'FetchError'],
    ['node-fetch request-timeout', fetchError('request-timeout'), TimeoutError, 'FetchError'],
    ['node-fetch system error without a known code', fetchError('system', 'EWHATEVER'), NetworkError, 'FetchError'],
    ['an unexpected Error (a bug)', new Error(`boom at ${SECRET_URL}`), ServerError, 'Error'],
    ['a thrown string', `failed ${SECRET_URL}`, ServerError, undefined],
    ['undefined', undefined, ServerError, undefined],
    ['null', null, ServerError, undefined],
  ];

  test.each(cases)('%s', (_name, input, expectedClass, causeName) => {
    const err = classifyError(input);
    expect(err).toBeInstanceOf(expectedClass);
    // Never the original text: it may hold URLs, hosts or tokens.
    expect(err.message).not.toMatch(/example\.com|eyJ|secret|10\.0\.0\.1|boom|fetch failed/);
    expect(JSON.stringify(err.toInfo())).not.toMatch(/example\.com|eyJ|secret/);
    expect(err.cause).toEqual(causeName === undefined ? undefined : { name: causeName });
  });

  it('classifies network and timeout failures as never consuming an attempt', () => {
    expect(classifyError(new TypeError('Failed to fetch')).consumesAttempt).toBe(false);
    expect(classifyError(new DOMException('x', 'TimeoutError')).consumesAttempt).toBe(false);
  });

  it('makes an unexpected throw transient and budgeted, so it neither loops forever nor is lost', () => {
    const err = classifyError(new RangeError('x'));
    expect(err).toMatchObject({ kind: 'server', errorClass: 'transient', retryable: true, consumesAttempt: true });
    expect(err.code).toBe(UNEXPECTED_ERROR_CODE);
    expect(err.status).toBeUndefined();
  });

  it('passes a SyncError through unchanged, also as an abort reason inside a cause chain', () => {
    const original = new PermanentError({ status: 400 });
    expect(classifyError(original)).toBe(original);
    const timeout = new TimeoutError({ code: 'client_timeout' });
    expect(classifyError(withCause('aborted', timeout))).toBe(timeout);
  });

  it('stops on a cyclic cause chain', () => {
    const a: { name: string; cause?: unknown } = { name: 'Weird' };
    const b = { name: 'Weirder', cause: a };
    a.cause = b;
    expect(classifyError(a)).toBeInstanceOf(ServerError);
  });

  it('drops a cause name that is not identifier-shaped', () => {
    const err = classifyError({ name: 'GET https://x/?token=abc failed' });
    expect(err.cause).toBeUndefined();
  });
});
