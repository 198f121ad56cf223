import {
  AuthError,
  ConflictError,
  MalformedResponseError,
  NetworkError,
  PermanentError,
  RateLimitError,
  RedirectError,
  ServerError,
  StorageError,
  SyncError,
  TimeoutError,
  ValidationError,
  type SyncErrorKind,
} from '../../src/errors/sync-error';
import { USER_MESSAGES, userMessageFor } from '../../src/errors/user-messages';

// The contract of docs/error_mapping.md, one row per class.
const table: ReadonlyArray<readonly [SyncError, string, SyncErrorKind, string, boolean, boolean]> = [
  [new NetworkError(), 'NetworkError', 'network', 'transient', true, false],
  [new TimeoutError(), 'TimeoutError', 'timeout', 'transient', true, false],
  [new ServerError({ status: 500 }), 'ServerError', 'server', 'transient', true, true],
  [new ServerError({ status: 409, code: 'idempotency_key_in_use', consumesAttempt: false }), 'ServerError', 'server', 'transient', true, false],
  [new RateLimitError({ status: 429 }), 'RateLimitError', 'rateLimited', 'rateLimited', true, false],
  [new AuthError({ status: 401 }), 'AuthError', 'auth', 'auth', true, false],
  [new PermanentError({ status: 400 }), 'PermanentError', 'permanent', 'permanent', false, true],
  [new ConflictError({ status: 409 }), 'ConflictError', 'conflict', 'ambiguous', false, true],
  [new MalformedResponseError({ status: 200 }), 'MalformedResponseError', 'malformedResponse', 'permanent', false, true],
  [new RedirectError({ status: 307 }), 'RedirectError', 'redirect', 'permanent', false, true],
  [new ValidationError('invalidPayload', 'payload.title: expected string'), 'ValidationError', 'validation', 'permanent', false, false],
  [new StorageError('quota'), 'StorageError', 'storage', 'transient', true, false],
];

describe('SyncError classes', () => {
  test.each(table.map((row) => [row[1], row[2], ...row] as const))(
    '%s (%s)',
    (_n, _k, err, name, kind, errorClass, retryable, consumesAttempt) => {
      expect(err).toBeInstanceOf(SyncError);
      expect(err).toBeInstanceOf(Error);
      expect(err.name).toBe(name);
      expect(err.kind).toBe(kind);
      expect(err.errorClass).toBe(errorClass);
      expect(err.retryable).toBe(retryable);
      expect(err.consumesAttempt).toBe(consumesAttempt);
      expect(err.userMessage).toBe(USER_MESSAGES[kind]);
      expect(err.toInfo().kind).toBe(kind);
    },
  );

  it('has a user message for every kind, and fixed text only', () => {
    const kinds = new Set(table.map((row) => row[2]));
    expect(new Set(Object.keys(USER_MESSAGES))).toEqual(kinds);
    for (const kind of kinds) expect(userMessageFor(kind)).toMatch(/^[A-Z][^{}$]+\.$/);
  });

  it('puts only the structured fields into toInfo, omitting absent ones', () => {
    expect(new RateLimitError({ status: 429, code: 'rate_limited', retryAfterMs: 30_000 }).toInfo()).toEqual({
      kind: 'rateLimited',
      status: 429,
      code: 'rate_limited',
      retryAfterMs: 30_000,
    });
    expect(new NetworkError().toInfo()).toEqual({ kind: 'network' });
    expect(new ConflictError({ status: 409, details: { secret: 'x' } }).toInfo()).toEqual({ kind: 'conflict', status: 409 });
    expect(new RedirectError({ status: 308, redirectOrigin: 'https://other.example' }).toInfo()).toEqual({
      kind: 'redirect',
      status: 308,
      redirectOrigin: 'https://other.example',
    });
  });

  it('keeps messages to the kind and status', () => {
    expect(new ServerError({ status: 503 }).message).toBe('server error 503');
    expect(new PermanentError({ status: 422 }).message).toBe('request rejected with 422');
    expect(new NetworkError({ cause: { name: 'TypeError' } }).message).toBe('network request failed');
  });

  it('exposes the reason as code for validation and storage errors', () => {
    expect(new ValidationError('unknownType').code).toBe('unknownType');
    expect(new StorageError('wrongKey')).toMatchObject({ code: 'wrongKey', retryable: false });
    expect(new StorageError('unavailable').retryable).toBe(true);
  });

  it('is serialisable without leaking a cause', () => {
    const err = new NetworkError({ cause: { name: 'TypeError' } });
    expect(err.cause).toEqual({ name: 'TypeError' });
    expect(JSON.parse(JSON.stringify(err.toInfo()))).toEqual({ kind: 'network' });
  });
});
