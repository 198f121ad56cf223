import { userMessageFor } from './user-messages';

/**
 * The five classes of `docs/error_mapping.md`: they decide what the pipeline
 * does with an operation after a failed attempt.
 *
 * @example
 * if (err.errorClass === 'permanent') moveToFailedOps(op, err);
 */
export type ErrorClass = 'transient' | 'permanent' | 'ambiguous' | 'auth' | 'rateLimited';

/**
 * The concrete kind of failure; one error class below per kind.
 *
 * @example
 * const counts: Partial<Record<SyncErrorKind, number>> = { [err.kind]: 1 };
 */
export type SyncErrorKind =
  | 'network'
  | 'timeout'
  | 'server'
  | 'rateLimited'
  | 'auth'
  | 'permanent'
  | 'conflict'
  | 'malformedResponse'
  | 'redirect'
  | 'validation'
  | 'storage';

/**
 * The serialisable summary of an error, as stored in `PendingOp.lastError`
 * and in dead-letter records. Never holds a payload, token or server text.
 *
 * @example
 * const lastError: ErrorInfo = err.toInfo(); // { kind: 'server', status: 503 }
 */
export interface ErrorInfo {
  readonly kind: SyncErrorKind;
  readonly status?: number;
  readonly code?: string;
  readonly retryAfterMs?: number;
  /** `redirect` only: the origin the server pointed to (`https://host:port`, never a path or query). */
  readonly redirectOrigin?: string;
}

interface SyncErrorInit {
  readonly status?: number;
  readonly code?: string;
  readonly retryAfterMs?: number;
  readonly cause?: unknown;
}

/**
 * Base class of every error the engine reports. Messages are fixed per kind
 * (see `user-messages.ts`) so no payload, token or server text can leak
 * through them; structured data lives in fields.
 *
 * @example
 * if (err instanceof SyncError && err.retryable) scheduleRetry(err.retryAfterMs);
 * showToast(err.userMessage);
 */
export abstract class SyncError extends Error {
  abstract readonly kind: SyncErrorKind;
  abstract readonly errorClass: ErrorClass;
  /** Whether retrying the same request may succeed. */
  abstract readonly retryable: boolean;
  /** Whether the attempt counts against the op's transient-error budget. */
  abstract readonly consumesAttempt: boolean;
  readonly status?: number;
  readonly code?: string;
  readonly retryAfterMs?: number;

  protected constructor(message: string, init: SyncErrorInit = {}) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = new.target.name;
    this.status = init.status;
    this.code = init.code;
    this.retryAfterMs = init.retryAfterMs;
  }

  /** The message to show a person; one table for every kind. */
  get userMessage(): string {
    return userMessageFor(this.kind);
  }

  /** Serialisable summary for storage, logs and `results$`. */
  toInfo(): ErrorInfo {
    const info: { -readonly [K in keyof ErrorInfo]: ErrorInfo[K] } = { kind: this.kind };
    if (this.status !== undefined) info.status = this.status;
    if (this.code !== undefined) info.code = this.code;
    if (this.retryAfterMs !== undefined) info.retryAfterMs = this.retryAfterMs;
    return info;
  }
}

/**
 * The request never got an HTTP answer (DNS, reset, refused, offline).
 *
 * @example
 * new NetworkError({ cause: { name: 'TypeError' } }).consumesAttempt; // false
 */
export class NetworkError extends SyncError {
  readonly kind = 'network';
  readonly errorClass = 'transient';
  readonly retryable = true;
  readonly consumesAttempt = false;
  constructor(init: SyncErrorInit = {}) {
    super('network request failed', init);
  }
}

/**
 * The request exceeded `requestTimeoutMs` and was aborted (also 408).
 *
 * @example
 * new TimeoutError({ code: 'client_timeout' }).errorClass; // 'transient'
 */
export class TimeoutError extends SyncError {
  readonly kind = 'timeout';
  readonly errorClass = 'transient';
  readonly retryable = true;
  readonly consumesAttempt = false;
  constructor(init: SyncErrorInit = {}) {
    super('request timed out', init);
  }
}

/**
 * 5xx, 425, or 409 `idempotency_key_in_use`: retry with backoff. Budgeted,
 * except 409 in-use (`consumesAttempt: false`: the first request may succeed).
 *
 * @example
 * new ServerError({ status: 503 }).consumesAttempt; // true
 * new ServerError({ status: 409, code: 'idempotency_key_in_use', consumesAttempt: false });
 */
export class ServerError extends SyncError {
  readonly kind = 'server';
  readonly errorClass = 'transient';
  readonly retryable = true;
  readonly consumesAttempt: boolean;
  constructor(init: SyncErrorInit & { consumesAttempt?: boolean } = {}) {
    super(`server error${init.status ? ` ${init.status}` : ''}`, init);
    this.consumesAttempt = init.consumesAttempt ?? true;
  }
}

/**
 * 429 (and 503 with Retry-After): wait, never fails an op on its own.
 *
 * @example
 * new RateLimitError({ status: 429, retryAfterMs: 30_000 });
 */
export class RateLimitError extends SyncError {
  readonly kind = 'rateLimited';
  readonly errorClass = 'rateLimited';
  readonly retryable = true;
  readonly consumesAttempt = false;
  constructor(init: SyncErrorInit = {}) {
    super('rate limited by server', init);
  }
}

/**
 * 401: refresh the token once, then the engine waits for new credentials.
 *
 * @example
 * if (err instanceof AuthError) return refreshThenRetryOnce();
 */
export class AuthError extends SyncError {
  readonly kind = 'auth';
  readonly errorClass = 'auth';
  readonly retryable = true;
  readonly consumesAttempt = false;
  constructor(init: SyncErrorInit = {}) {
    super('authentication required', init);
  }
}

/**
 * 400, 403, 404, 410, 413, 422, other 4xx: the op goes to `failed_ops`.
 *
 * @example
 * new PermanentError({ status: 422, code: 'idempotency_key_mismatch' }).retryable; // false
 */
export class PermanentError extends SyncError {
  readonly kind = 'permanent';
  readonly errorClass = 'permanent';
  readonly retryable = false;
  readonly consumesAttempt = true;
  constructor(init: SyncErrorInit = {}) {
    super(`request rejected${init.status ? ` with ${init.status}` : ''}`, init);
  }
}

/**
 * 409 domain conflict: handed to `reconcile`, default fail.
 *
 * @example
 * if (err instanceof ConflictError) decision = reconcile(op, err); // err.details from the server
 */
export class ConflictError extends SyncError {
  readonly kind = 'conflict';
  readonly errorClass = 'ambiguous';
  readonly retryable = false;
  readonly consumesAttempt = true;
  /** Server-provided conflict details (the `error.details` of the envelope). */
  readonly details?: unknown;
  constructor(init: SyncErrorInit & { details?: unknown } = {}) {
    super('conflict with server state', init);
    this.details = init.details;
  }
}

/**
 * A 2xx whose body is not a valid envelope or fails the route's response
 * codec. The server may have applied the op; resending with the same
 * idempotency key replays the same answer, so it is permanent.
 *
 * @example
 * new MalformedResponseError({ status: 200, code: 'notJson' });
 */
export class MalformedResponseError extends SyncError {
  readonly kind = 'malformedResponse';
  readonly errorClass = 'permanent';
  readonly retryable = false;
  readonly consumesAttempt = true;
  constructor(init: SyncErrorInit = {}) {
    super('malformed server response', init);
  }
}

/**
 * A 3xx (or the browser's opaque answer to `redirect: 'manual'`) reached
 * the engine. The engine never follows a redirect: a `301/302/303` would
 * be re-sent as a `GET` (and its answer taken for the op's), a `307/308`
 * would carry the payload, keys and maybe the token to another origin or
 * over clear text. The op goes to `failed_ops` (reason `redirect`); the
 * server may or may not have applied it (a `303` usually means it did), so
 * a person must look. `redirectOrigin` is the target's origin when known;
 * `code` is `opaqueRedirect` (browser, target unknown) or `followed` (a
 * custom `fetch` followed it anyway).
 *
 * @example
 * new RedirectError({ status: 307, redirectOrigin: 'https://other.example' }).toInfo();
 * // { kind: 'redirect', status: 307, redirectOrigin: 'https://other.example' }
 */
export class RedirectError extends SyncError {
  readonly kind = 'redirect';
  readonly errorClass = 'permanent';
  readonly retryable = false;
  readonly consumesAttempt = true;
  readonly redirectOrigin?: string;
  constructor(init: SyncErrorInit & { redirectOrigin?: string } = {}) {
    super(`redirect not followed${init.status ? ` (${init.status})` : ''}`, init);
    this.redirectOrigin = init.redirectOrigin;
  }

  override toInfo(): ErrorInfo {
    const info = super.toInfo();
    return this.redirectOrigin === undefined ? info : { ...info, redirectOrigin: this.redirectOrigin };
  }
}

/**
 * Why input was refused (also the error's `code`). `opInFlight`,
 * `unknownOp` and `lockNotHeld` refuse an `engine.cancel(opId)`: the op's
 * request is out, it is not pending, or this engine does not hold the
 * processor lock.
 *
 * @example
 * if (err instanceof ValidationError && err.reason === 'unknownType') { … }
 */
export type ValidationReason =
  | 'unknownType'
  | 'invalidPayload'
  | 'notSerializable'
  | 'invalidOptions'
  | 'opInFlight'
  | 'unknownOp'
  | 'lockNotHeld'
  /** A destructive call made without `{ confirm: true }` (`discardAccount`). */
  | 'notConfirmed'
  /** `discardAccount` for the account signed in now: sign it out first. */
  | 'accountSignedIn';

/**
 * Bad input caught before anything is persisted or sent. `detail` names the
 * failing path ("payload.title: expected string") but never a value.
 *
 * @example
 * throw new ValidationError('invalidPayload', 'payload.title: expected string, got number');
 */
export class ValidationError extends SyncError {
  readonly kind = 'validation';
  readonly errorClass = 'permanent';
  readonly retryable = false;
  readonly consumesAttempt = false;
  readonly reason: ValidationReason;
  readonly detail?: string;
  constructor(reason: ValidationReason, detail?: string, init: SyncErrorInit = {}) {
    super(`invalid operation (${reason})${detail ? `: ${detail}` : ''}`, init);
    this.reason = reason;
    this.detail = detail;
    (this as { code?: string }).code = reason;
  }
}

/**
 * What went wrong with storage (also the error's `code`); `unavailable`,
 * `quota` and `busy` are worth retrying. `busy`: another process kept the
 * database locked for as long as the driver retries (SQLite: a writer
 * frozen or stuck mid-transaction).
 *
 * @example
 * new StorageError('wrongKey').retryable; // false
 */
export type StorageReason = 'quota' | 'unavailable' | 'busy' | 'wrongKey' | 'corrupt' | 'closed';

/**
 * Storage failed; nothing partial was written.
 *
 * @example
 * if (err instanceof StorageError && err.reason === 'quota') askUserToFreeSpace();
 */
export class StorageError extends SyncError {
  readonly kind = 'storage';
  readonly errorClass = 'transient';
  readonly retryable: boolean;
  readonly consumesAttempt = false;
  readonly reason: StorageReason;
  constructor(reason: StorageReason, init: SyncErrorInit = {}) {
    super(`storage error (${reason})`, init);
    this.reason = reason;
    this.retryable = reason === 'unavailable' || reason === 'quota' || reason === 'busy';
    (this as { code?: string }).code = reason;
  }
}
