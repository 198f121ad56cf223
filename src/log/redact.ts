/**
 * Redaction at the boundary: everything that leaves the engine as a log line,
 * a span attribute or an error summary goes through here first.
 *
 * Rules (also in `docs/operating.md`):
 * - a field whose key looks like a credential (`authorization`, `token`,
 *   `secret`, `password`, `cookie`, `jwt`, `apiKey`, `session`, `credential`,
 *   `privateKey`, …) is replaced by `[REDACTED]`, whatever its value;
 * - a field holding user data (`payload`, `body`, `details`, `raw`) is
 *   replaced by `[REDACTED]`, whatever its value;
 * - inside every string: e-mail addresses become `[email]`, JWT-looking
 *   strings `[jwt]`, `Bearer …`/`Basic …` credentials `Bearer [REDACTED]`, and
 *   `token=…`-style pairs (query strings, cookies) `token=[REDACTED]`;
 * - errors become `{ name, message, kind?, status?, code?, cause? }`, the
 *   cause redacted recursively and stacks dropped. The message is kept
 *   (string-redacted) only for the engine's own `SyncError`s, whose messages
 *   are fixed text; any other error's message may quote a payload or a server
 *   answer, so it is replaced by `[REDACTED]` (name and code stay);
 * - cycles, depth beyond {@link REDACT_MAX_DEPTH}, functions and symbols are
 *   replaced by markers, so redaction itself never throws.
 */

import { SyncError } from '../errors/sync-error';

/** Replacement for a redacted field. */
export const REDACTED = '[REDACTED]';
/** Depth beyond which nested values are replaced by `[Truncated]`. */
export const REDACT_MAX_DEPTH = 8;
/** Array items kept (the rest is summarised). */
const MAX_ARRAY_ITEMS = 50;
/** Longest string kept (the rest is cut). */
const MAX_STRING_LENGTH = 2_000;

const SENSITIVE_KEY =
  /authori[sz]ation|token|secret|passw(or)?d|passwd|pwd|cookie|jwt|api[-_]?key|session|credential|private[-_]?key|signature/i;
const USER_DATA_KEY = /^(payload|body|details|raw)$/i;

const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g;
// Three base64url segments, the first starting like a JSON object header.
const JWT = /\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g;
const AUTH_SCHEME = /\b(Bearer|Basic|Digest)\s+[A-Za-z0-9._~+/=-]+/gi;
const KEY_VALUE =
  /\b([A-Za-z0-9_-]*(?:token|secret|passw(?:or)?d|pwd|api[-_]?key|session|cookie|jwt|authorization|credential|signature)[A-Za-z0-9_-]*)(\s*[=:]\s*)((?:(?:Bearer|Basic|Digest)\s+)?(?:"[^"]*"|'[^']*'|[^\s&;,"']+))/gi;

/** True when a field of this name must never be logged or exported. */
export function isSensitiveKey(key: string): boolean {
  return SENSITIVE_KEY.test(key) || USER_DATA_KEY.test(key);
}

/**
 * Redact secrets and PII inside one string (e-mails, JWTs, bearer
 * credentials, `token=…` pairs), and cut it to a bounded length.
 *
 * @example
 * redactString('401 for bob@example.com with Bearer abc.def');
 * // '401 for [email] with Bearer [REDACTED]'
 */
export function redactString(s: string): string {
  const cut = s.length > MAX_STRING_LENGTH ? `${s.slice(0, MAX_STRING_LENGTH)}…` : s;
  return cut
    .replace(JWT, '[jwt]')
    .replace(KEY_VALUE, (_m, key: string, sep: string) => `${key}${sep}${REDACTED}`)
    .replace(AUTH_SCHEME, (_m, scheme: string) => `${scheme} ${REDACTED}`)
    .replace(EMAIL, '[email]');
}

interface ErrorLike {
  name?: unknown;
  message?: unknown;
  kind?: unknown;
  status?: unknown;
  code?: unknown;
  cause?: unknown;
}

function redactInner(value: unknown, depth: number, seen: WeakSet<object>): unknown {
  switch (typeof value) {
    case 'string':
      return redactString(value);
    case 'number':
    case 'boolean':
    case 'undefined':
      return value;
    case 'bigint':
      return `${value.toString()}n`;
    case 'symbol':
      return '[Symbol]';
    case 'function':
      return '[Function]';
  }
  if (value === null) return null;
  const obj = value as object;
  if (seen.has(obj)) return '[Circular]';
  if (depth >= REDACT_MAX_DEPTH) return '[Truncated]';
  seen.add(obj);
  try {
    return redactObject(obj, depth, seen);
  } finally {
    seen.delete(obj);
  }
}

/** One object (already on the `seen` path), by what kind of object it is. */
function redactObject(obj: object, depth: number, seen: WeakSet<object>): unknown {
  if (obj instanceof Error) return redactError(obj as Error & ErrorLike, depth, seen);
  if (obj instanceof Date) return Number.isNaN(obj.getTime()) ? 'Invalid Date' : obj.toISOString();
  if (Array.isArray(obj)) {
    const items = obj.slice(0, MAX_ARRAY_ITEMS).map((v) => redactInner(v, depth + 1, seen));
    if (obj.length > MAX_ARRAY_ITEMS) items.push(`[${obj.length - MAX_ARRAY_ITEMS} more]`);
    return items;
  }
  // fetch `Headers` and `Map`: entries keyed like fields.
  if (typeof (obj as { entries?: unknown }).entries === 'function' && (obj instanceof Map || isHeadersLike(obj))) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of (obj as Map<unknown, unknown>).entries()) {
      const key = String(k);
      out[key] = isSensitiveKey(key) ? REDACTED : redactInner(v, depth + 1, seen);
    }
    return out;
  }
  if (obj instanceof Set) return `[Set(${obj.size})]`;
  if (ArrayBuffer.isView(obj) || obj instanceof ArrayBuffer) return '[Binary]';
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(obj)) {
    let v: unknown;
    try {
      v = (obj as Record<string, unknown>)[key];
    } catch {
      v = '[Unreadable]';
    }
    out[redactString(key)] = isSensitiveKey(key) ? REDACTED : redactInner(v, depth + 1, seen);
  }
  return out;
}

/** An error's summary: only our own `SyncError`s keep their (fixed-text) message. */
function redactError(e: Error & ErrorLike, depth: number, seen: WeakSet<object>): Record<string, unknown> {
  const out: Record<string, unknown> = {
    name: typeof e.name === 'string' ? redactString(e.name) : 'Error',
    message: e instanceof SyncError ? redactString(String(e.message)) : REDACTED,
  };
  if (typeof e.kind === 'string') out['kind'] = e.kind;
  if (typeof e.status === 'number') out['status'] = e.status;
  if (typeof e.code === 'string' || typeof e.code === 'number') out['code'] = redactInner(e.code, depth + 1, seen);
  if (e.cause !== undefined) out['cause'] = redactInner(e.cause, depth + 1, seen);
  return out;
}

function isHeadersLike(obj: object): boolean {
  return typeof Headers !== 'undefined' && obj instanceof Headers;
}

/**
 * Return a redacted deep copy of `value`, safe to log or export. Never
 * throws and never mutates its input.
 *
 * @example
 * redact({ headers: { Authorization: 'Bearer x' }, payload: { note: 'hi' }, user: 'a@b.io' });
 * // { headers: { Authorization: '[REDACTED]' }, payload: '[REDACTED]', user: '[email]' }
 */
export function redact<T>(value: T): unknown {
  try {
    return redactInner(value, 0, new WeakSet());
  } catch {
    return '[Unredactable]';
  }
}

/** Redact a structured fields object (the second argument of a log call). */
export function redactFields(fields: Readonly<Record<string, unknown>> | undefined): Record<string, unknown> | undefined {
  if (fields === undefined) return undefined;
  const r = redact(fields);
  return typeof r === 'object' && r !== null && !Array.isArray(r) ? (r as Record<string, unknown>) : { value: r };
}
