import { fromBase64Url } from '../crypto/base64';

/** Longest token we try to decode (a JWT in a header stays far below). */
const MAX_TOKEN_LENGTH = 16 * 1024;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decode base64url (RFC 4648 §5, padding optional) to UTF-8 text with the
 * core's one base64 decoder — no Node `Buffer`, so it runs in browsers and
 * workers. Undefined for anything that is not valid base64url or not valid
 * UTF-8.
 */
export function decodeBase64Url(s: string): string | undefined {
  const bytes = fromBase64Url(s);
  if (bytes === null) return undefined;
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * The `exp` claim of a compact JWT, in epoch **milliseconds**, decoded
 * WITHOUT verifying the signature (only to know when to refresh; the server
 * verifies). Undefined when the token is opaque, malformed, or has no finite
 * numeric `exp` — then only the 401 path refreshes it.
 *
 * @example
 * jwtExpiresAt(token); // 1767225600000
 */
export function jwtExpiresAt(token: string): number | undefined {
  if (token.length > MAX_TOKEN_LENGTH) return undefined;
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const json = decodeBase64Url(parts[1]!);
  if (json === undefined) return undefined;
  let claims: unknown;
  try {
    claims = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) return undefined;
  const exp = (claims as { exp?: unknown }).exp;
  return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : undefined;
}
