import {
  AuthError,
  ConflictError,
  MalformedResponseError,
  PermanentError,
  RateLimitError,
  RedirectError,
  ServerError,
  TimeoutError,
  type SyncError,
} from '../errors/sync-error';
import { parseRetryAfter } from './retry-after';

/**
 * The parts of an HTTP response the engine reads. A `fetch` `Response` fits
 * once its body has been read as text (`{ status, headers, bodyText: await
 * res.text() }`).
 *
 * @example
 * const res = await fetch(url, init);
 * const like: HttpResponseLike = { status: res.status, headers: res.headers, bodyText: await res.text() };
 */
export interface HttpResponseLike {
  /** HTTP status; 0 for the browser's opaque answer to `redirect: 'manual'`. */
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  readonly bodyText: string;
  /** The URL answered (the request's, or the final one if a fetch followed a redirect); resolves a relative `Location`. */
  readonly url?: string;
  /** The fetch followed a redirect although the engine asked it not to (`Response.redirected`). */
  readonly redirected?: boolean;
  /** The body was longer than `maxResponseBytes`: reading stopped there and `bodyText` is empty. */
  readonly bodyOverLimit?: boolean;
}

/**
 * A success with the envelope's `data`, or the typed failure.
 *
 * @example
 * const c: ClassifiedResponse = classifyResponse(like, now);
 * if (c.ok) use(c.data); else if (c.error.retryable) retryLater(c.error);
 */
export type ClassifiedResponse =
  | { readonly ok: true; readonly data: unknown }
  | { readonly ok: false; readonly error: SyncError };

/**
 * The `error.code` the backend uses while the same key is still in flight.
 *
 * @example
 * if (err.status === 409 && err.code === IDEMPOTENCY_KEY_IN_USE) { … }
 */
export const IDEMPOTENCY_KEY_IN_USE = 'idempotency_key_in_use';

// Server codes are copied into structured fields (never messages); anything
// that does not look like a machine code is dropped, as it may be free text.
const SAFE_CODE = /^[A-Za-z][A-Za-z0-9_.:-]{0,63}$/;

function parseJson(text: string): { readonly ok: true; readonly value: unknown } | { readonly ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === 'object' && u !== null && !Array.isArray(u);

/**
 * The error envelope's `code` and `details`: `{ "error": { "code", "details" } }`
 * or RFC 9457 problem+json with a `code` extension member.
 */
function readErrorBody(bodyText: string): { readonly code?: string; readonly details?: unknown } {
  const parsed = parseJson(bodyText);
  if (!parsed.ok || !isRecord(parsed.value)) return {};
  const body = parsed.value;
  const source = isRecord(body.error) ? body.error : body;
  const code = typeof source.code === 'string' && SAFE_CODE.test(source.code) ? source.code : undefined;
  return { code, details: source.details };
}

// A hostname is at most 253 characters; anything longer is not kept.
const MAX_ORIGIN_LENGTH = 300;

/** The origin of the redirect target (scheme, host, port: never path or query), if it is a web URL. */
function redirectOriginOf(res: HttpResponseLike): string | undefined {
  const target = res.redirected === true ? res.url : res.headers.get('location');
  if (target === null || target === undefined) return undefined;
  try {
    const url = new URL(target, res.url);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
    return url.origin.length <= MAX_ORIGIN_LENGTH ? url.origin : undefined;
  } catch {
    return undefined;
  }
}

function classifyRedirect(res: HttpResponseLike): ClassifiedResponse {
  const redirectOrigin = redirectOriginOf(res);
  const where = redirectOrigin === undefined ? {} : { redirectOrigin };
  if (res.redirected === true) return fail(new RedirectError({ code: 'followed', ...where }));
  if (res.status === 0) return fail(new RedirectError({ code: 'opaqueRedirect' }));
  return fail(new RedirectError({ status: res.status, ...where }));
}

/**
 * Decide what one HTTP response means (`docs/error_mapping.md`).
 *
 * - A redirect (3xx, status 0 = the browser's opaque redirect, or a response
 *   a fetch reached by following one) → `RedirectError`, permanent: the
 *   engine never follows redirects, and never takes a redirected answer for
 *   the op's.
 * - 2xx with a JSON object body holding a `data` member → `{ ok: true, data }`.
 *   204/205 (no content by definition) with an empty body → `data: null`.
 *   Any other 2xx (not JSON, no `data`, or a body past `maxResponseBytes`:
 *   code `tooLarge`) → `MalformedResponseError`.
 * - 401 → `AuthError`; 408 → `TimeoutError`; 429 → `RateLimitError`;
 *   503 with a valid `Retry-After` → `RateLimitError`; 409 with
 *   `error.code` `idempotency_key_in_use` → `ServerError` that does not
 *   consume an attempt; other 409 → `ConflictError` with `details`;
 *   425, 5xx → `ServerError`; other statuses → `PermanentError`.
 * - `Retry-After` (measured against the response `Date` header) is parsed
 *   into `retryAfterMs` for every retryable failure.
 *
 * Error messages are fixed per class: no body text reaches them. Only a
 * code-shaped `error.code` is kept (in `code`).
 *
 * @param now current time, epoch ms, for HTTP-date `Retry-After` values
 * @example
 * const res = await fetch(url, init);
 * const classified = classifyResponse({ status: res.status, headers: res.headers, bodyText: await res.text() }, scheduler.now());
 * if (!classified.ok) throw classified.error;
 */
export function classifyResponse(res: HttpResponseLike, now: number): ClassifiedResponse {
  const { status } = res;
  if (res.redirected === true || status === 0 || (status >= 300 && status <= 399)) return classifyRedirect(res);
  if (status >= 200 && status <= 299) return classifySuccess(res);

  const { code, details } = readErrorBody(res.bodyText);
  const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'), now, res.headers.get('date'));
  const init = { status, ...(code !== undefined ? { code } : {}) };
  const withRetryAfter = retryAfterMs !== undefined ? { ...init, retryAfterMs } : init;

  switch (status) {
    case 401:
      return fail(new AuthError(init));
    case 408:
      return fail(new TimeoutError(withRetryAfter));
    case 409:
      // The first request with this key is still being processed by the
      // server: the op may well succeed, so it must not burn its budget.
      return code === IDEMPOTENCY_KEY_IN_USE
        ? fail(new ServerError({ ...withRetryAfter, consumesAttempt: false }))
        : fail(new ConflictError({ ...init, ...(details !== undefined ? { details } : {}) }));
    case 425:
      return fail(new ServerError(withRetryAfter));
    case 429:
      return fail(new RateLimitError(withRetryAfter));
    case 503:
      return fail(retryAfterMs !== undefined ? new RateLimitError(withRetryAfter) : new ServerError(init));
    default:
      if (status >= 500 && status <= 599) return fail(new ServerError(withRetryAfter));
      // Every other status (the listed 4xx, other 4xx, 1xx and invalid codes).
      return fail(new PermanentError(init));
  }
}

const fail = (error: SyncError): ClassifiedResponse => ({ ok: false, error });

function classifySuccess(res: HttpResponseLike): ClassifiedResponse {
  const { status } = res;
  // The server answered 2xx, so it applied the op, but the answer cannot be
  // read: like any malformed success, a person decides (a retry from
  // failed_ops keeps the key and gets the server's replay).
  if (res.bodyOverLimit === true) return fail(new MalformedResponseError({ status, code: 'tooLarge' }));
  if ((status === 204 || status === 205) && res.bodyText.trim() === '') return { ok: true, data: null };
  const parsed = parseJson(res.bodyText);
  if (!parsed.ok) return fail(new MalformedResponseError({ status, code: 'notJson' }));
  if (!isRecord(parsed.value) || !Object.prototype.hasOwnProperty.call(parsed.value, 'data')) {
    return fail(new MalformedResponseError({ status, code: 'noData' }));
  }
  return { ok: true, data: parsed.value.data };
}
