import { NetworkError, ServerError, SyncError, TimeoutError } from '../errors/sync-error';

// Socket-level failures from Node (undici, node-fetch) and React Native.
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'ENETDOWN',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'EPIPE',
  'EPROTO',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'ETIMEDOUT',
]);
// No answer in time after the request went out: the server may be working.
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

const SAFE_NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

/**
 * The unexpected-throw code on the `ServerError` fallback.
 *
 * @example
 * classifyError(new RangeError('bug')).code === UNEXPECTED_ERROR_CODE; // true
 */
export const UNEXPECTED_ERROR_CODE = 'unexpected';

const field = (u: unknown, key: string): unknown =>
  typeof u === 'object' && u !== null && key in u ? (u as Record<string, unknown>)[key] : undefined;

/** Only the constructor-ish `name` survives; messages may hold URLs or tokens. */
function safeCause(err: unknown): { readonly name: string } | undefined {
  const name = field(err, 'name');
  return typeof name === 'string' && SAFE_NAME.test(name) ? { name } : undefined;
}

function verdict(err: unknown): 'timeout' | 'network' | undefined {
  const name = field(err, 'name');
  const code = field(err, 'code');
  const type = field(err, 'type');
  // fetch aborted by AbortSignal.timeout() or by our own timeout controller.
  if (name === 'TimeoutError' || name === 'AbortError') return 'timeout';
  if (typeof code === 'string' && TIMEOUT_CODES.has(code)) return 'timeout';
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return 'network';
  // node-fetch (cross-fetch on Node) FetchError types.
  if (name === 'FetchError' && type === 'request-timeout') return 'timeout';
  if (name === 'FetchError' && type === 'system') return 'network';
  return undefined;
}

/**
 * Turn whatever `fetch` (or the code around it) rejected with into a
 * `SyncError` (`docs/error_mapping.md`, rows "network failure", "timeout",
 * "anything else thrown").
 *
 * - A `SyncError` passes through unchanged (also an abort whose reason is one).
 * - `AbortError` / `TimeoutError` (DOMException from our request timeout or
 *   `AbortSignal.timeout`), undici header/body timeouts, node-fetch
 *   `request-timeout` → `TimeoutError`.
 * - `TypeError` (what `fetch` rejects with for every network failure) and
 *   socket codes (`ECONNRESET`, `ENOTFOUND`, …, also found on `err.cause`)
 *   → `NetworkError`.
 * - Anything else (a bug, a throwing `toWire`) → `ServerError` with code
 *   `unexpected`: transient and budgeted, so it is retried a few times and
 *   then lands in `failed_ops` instead of looping forever or being dropped.
 *
 * The original message is never copied (it may contain URLs or tokens);
 * `cause` is `{ name }` of the original only.
 *
 * To cancel a request without it counting as a timeout, abort with a reason
 * that is a `SyncError` (or do not classify the rejection at all).
 *
 * @example
 * try {
 *   res = await fetch(url, { signal });
 * } catch (err) {
 *   throw classifyError(err); // NetworkError / TimeoutError, no URL inside
 * }
 */
export function classifyError(err: unknown): SyncError {
  if (err instanceof SyncError) return err;
  const cause = safeCause(err);
  const init = cause ? { cause } : {};
  // Walk the cause chain (undici: TypeError('fetch failed', { cause: { code } })).
  let current: unknown = err;
  for (let depth = 0; depth < 5 && current !== undefined && current !== null; depth += 1) {
    if (current instanceof SyncError) return current;
    const v = verdict(current);
    if (v === 'timeout') return new TimeoutError(init);
    if (v === 'network') return new NetworkError(init);
    current = field(current, 'cause');
  }
  if (err instanceof TypeError) return new NetworkError(init);
  return new ServerError({ ...init, code: UNEXPECTED_ERROR_CODE });
}
