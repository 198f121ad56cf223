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

/** The fields compared, absent ones as null where the vectors may leave them out. */
const classification = (x: Omit<ExpectedSyncError, 'redirectOrigin'>, redirectOrigin: string | null | undefined) => ({
  kind: x.kind,
  errorClass: x.errorClass,
  consumesAttempt: x.consumesAttempt,
  retryable: x.retryable,
  status: x.status ?? null,
  retryAfterMs: x.retryAfterMs ?? null,
  code: x.code ?? null,
  redirectOrigin: redirectOrigin ?? null,
});

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
  expect(classification(error, error.toInfo().redirectOrigin)).toEqual(classification(e, e.redirectOrigin));
  for (const text of [error.message, error.userMessage, JSON.stringify(error.toInfo())]) expect(text).not.toMatch(leaks);
}
