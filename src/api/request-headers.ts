import { ValidationError } from '../errors/sync-error';

/**
 * The headers the API client sets itself (lower case): extra headers can
 * never replace or add to them, whatever their case (`authorization`,
 * `AUTHORIZATION`…), and even when the client leaves one out (no token: no
 * `Authorization`; no body: no `Content-Type`).
 *
 * @example
 * ENGINE_HEADERS.has('idempotency-key'); // true
 */
export const ENGINE_HEADERS: ReadonlySet<string> = new Set(['authorization', 'idempotency-key', 'trace-id', 'content-type', 'accept']);

/** An HTTP field name: an RFC 9110 `token`. */
const NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** A field value `fetch` accepts: Latin-1, no control characters but HTAB (no CR, LF or NUL to split a header). */
const VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

const invalid = (detail: string): ValidationError => new ValidationError('invalidOptions', `requestHeaders: ${detail}`);

/**
 * Why `headers` could not go on the wire as extra headers, or undefined when
 * they can. Names the offending header, never a value (it may be a secret).
 * `engineOwned` says what an engine header is: an error (`'refuse'`, for
 * the object given at construction) or dropped (`'drop'`, per attempt).
 */
function check(headers: unknown, engineOwned: 'refuse' | 'drop'): ValidationError | undefined {
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) return invalid('expected an object of strings');
  for (const [name, value] of Object.entries(headers)) {
    // An invalid name is not echoed: it may be a value pasted in the wrong place.
    if (!NAME.test(name)) return invalid('invalid header name');
    if (engineOwned === 'refuse' && ENGINE_HEADERS.has(name.toLowerCase())) return invalid(`"${name}" is set by the engine`);
    if (typeof value !== 'string' || !VALUE.test(value)) {
      return invalid(`"${name}": expected a string without CR, LF, NUL or characters above U+00FF`);
    }
  }
  return undefined;
}

/**
 * Check the `requestHeaders` object given to `createSyncEngine`: every name
 * an HTTP token, every value a string `fetch` accepts, and none of the
 * engine's own headers (`ENGINE_HEADERS`). Throws
 * `ValidationError('invalidOptions')` naming the header.
 *
 * @example
 * assertExtraHeaders({ 'X-App-Version': '2.1.0' }); // ok
 * assertExtraHeaders({ authorization: 'Basic …' }); // throws: "authorization" is set by the engine
 */
export function assertExtraHeaders(headers: unknown): asserts headers is Readonly<Record<string, string>> {
  const err = check(headers, 'refuse');
  if (err) throw err;
}

/**
 * The extra headers of one request as they may go on the wire: the
 * engine's own (`ENGINE_HEADERS`, any case) dropped. Throws
 * `ValidationError('invalidOptions')` for a name or value `fetch` would
 * refuse — a `TypeError` there would pass for a network failure and be
 * retried forever.
 *
 * @example
 * extraHeaders({ traceparent: '00-…-01', 'idempotency-key': 'forged' }); // { traceparent: '00-…-01' }
 */
export function extraHeaders(headers: Readonly<Record<string, string>> | undefined): Record<string, string> {
  if (headers === undefined) return {};
  const err = check(headers, 'drop');
  if (err) throw err;
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!ENGINE_HEADERS.has(name.toLowerCase())) out[name] = value;
  }
  return out;
}
