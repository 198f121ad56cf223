import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';

/** The claims the reference backend puts in (and checks on) its tokens. */
export interface JwtClaims {
  readonly sub: string;
  /** Issued at, seconds since the epoch (fractional: tests use short TTLs). */
  readonly iat: number;
  /** Expiry, seconds since the epoch (fractional, RFC 7519 NumericDate). */
  readonly exp: number;
  readonly jti: string;
  /** Token generation of the issuing backend; `expireTokens()` moves it on. */
  readonly gen?: number;
}

/** Why a token was refused; becomes the `error.code` of the 401. */
export type JwtRejection = 'token_missing' | 'token_malformed' | 'token_invalid' | 'token_expired';

// Hand-written on node:crypto rather than `jose`: jose signs and verifies
// asynchronously only (WebCrypto), while this kit's API is synchronous —
// `backend.issueToken()` is used directly as an engine's `getToken`, and
// `signJwt`/`verifyJwt` are exported as they are — and its `exp` check
// floors the clock to whole seconds, while tests issue 30 ms tokens.
const b64url = (buf: Buffer): string => buf.toString('base64url');
const HEADER = b64url(Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })));

/** Sign claims as a compact HS256 JWT. */
export function signJwt(claims: JwtClaims, secret: Buffer | string): string {
  const body = b64url(Buffer.from(JSON.stringify(claims)));
  const sig = createHmac('sha256', secret).update(`${HEADER}.${body}`).digest();
  return `${HEADER}.${body}.${b64url(sig)}`;
}

/** A fresh token for `sub`, valid `ttlMs` from `nowMs`. */
export function issueJwt(sub: string, ttlMs: number, nowMs: number, secret: Buffer | string, gen?: number): string {
  const claims: JwtClaims = { sub, iat: nowMs / 1000, exp: (nowMs + ttlMs) / 1000, jti: randomUUID() };
  return signJwt(gen === undefined ? claims : { ...claims, gen }, secret);
}

/**
 * Verify a compact HS256 JWT: exactly `alg: HS256` (so `none` and algorithm
 * confusion are refused), a constant-time signature check, then `exp`.
 */
export function verifyJwt(
  token: string,
  secret: Buffer | string,
  nowMs: number,
): { ok: true; claims: JwtClaims } | { ok: false; reason: JwtRejection } {
  const parts = token.split('.');
  if (parts.length !== 3 || parts.some((p) => p.length === 0 || !/^[A-Za-z0-9_-]+$/.test(p))) {
    return { ok: false, reason: 'token_malformed' };
  }
  const [h, b, s] = parts as [string, string, string];
  let header: unknown;
  let claims: unknown;
  try {
    header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
    claims = JSON.parse(Buffer.from(b, 'base64url').toString('utf8'));
  } catch {
    return { ok: false, reason: 'token_malformed' };
  }
  if (typeof header !== 'object' || header === null || (header as { alg?: unknown }).alg !== 'HS256') {
    return { ok: false, reason: 'token_invalid' };
  }
  const expected = createHmac('sha256', secret).update(`${h}.${b}`).digest();
  const given = Buffer.from(s, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: 'token_invalid' };
  }
  if (typeof claims !== 'object' || claims === null) return { ok: false, reason: 'token_malformed' };
  const c = claims as Partial<JwtClaims>;
  if (typeof c.exp !== 'number' || typeof c.iat !== 'number' || typeof c.sub !== 'string' || typeof c.jti !== 'string') {
    return { ok: false, reason: 'token_malformed' };
  }
  if (c.exp * 1000 <= nowMs) return { ok: false, reason: 'token_expired' };
  return { ok: true, claims: c as JwtClaims };
}
