import { SyncError } from '../../src/errors/sync-error';

/** What a vector row expects of a classified error (absent `status`, `retryAfterMs`, `code`, `redirectOrigin`: null). */
export interface ExpectedSyncError {
  readonly kind?: string;
  readonly errorClass?: string;
  readonly consumesAttempt?: boolean;
  readonly retryable?: boolean;
  readonly status?: number | null;
  readonly retryAfterMs?: number | null;
  readonly code?: string | null;
  readonly redirectOrigin?: string | null;
}

/**
 * `err` is a `SyncError` with exactly the classification `e` names, and
 * none of its texts (message, user message, stored summary) matches
 * `leaks` — what the server wrote must not reach them. Shared by the
 * single-response and the batch-entry classifier vectors.
 *
 * @example
 * expectSyncError(got.error, row.expected, /alice@|Sign in/);
 */
export function expectSyncError(err: unknown, e: ExpectedSyncError, leaks: RegExp): void {
  expect(err).toBeInstanceOf(SyncError);
  const error = err as SyncError;
  expect({
    kind: error.kind,
    errorClass: error.errorClass,
    consumesAttempt: error.consumesAttempt,
    retryable: error.retryable,
    status: error.status ?? null,
    retryAfterMs: error.retryAfterMs ?? null,
    code: error.code ?? null,
    redirectOrigin: error.toInfo().redirectOrigin ?? null,
  }).toEqual({
    kind: e.kind,
    errorClass: e.errorClass,
    consumesAttempt: e.consumesAttempt,
    retryable: e.retryable,
    status: e.status ?? null,
    retryAfterMs: e.retryAfterMs ?? null,
    code: e.code ?? null,
    redirectOrigin: e.redirectOrigin ?? null,
  });
  for (const text of [error.message, error.userMessage, JSON.stringify(error.toInfo())]) expect(text).not.toMatch(leaks);
}
