/** Longest token we try to decode (a JWT in a header stays far below). */
const MAX_TOKEN_LENGTH = 16 * 1024;

/**
 * Decode base64url (RFC 4648 §5, padding optional) to UTF-8 text with the
 * platform's `atob` and `TextDecoder` — no Node `Buffer`, so it runs in
 * browsers and workers. Undefined for anything that is not valid base64url
 * or not valid UTF-8.
 */
export function decodeBase64Url(s: string): string | undefined {
  if (!/^[A-Za-z0-9_-]*={0,2}$/.test(s)) return undefined;
  let b64 = s.replace(/=+$/, '').replace(/-/g, '+').replace(/_/g, '/');
  const rem = b64.length % 4;
  if (rem === 1) return undefined;
  if (rem !== 0) b64 += '='.repeat(4 - rem);
  try {
    const binary = atob(b64);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
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
