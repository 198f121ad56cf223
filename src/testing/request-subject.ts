/**
 * The `sub` claim of a request's `Authorization: Bearer <jwt>`, read
 * without checking the signature — call it only for a request whose token
 * the backend has verified. Undefined when there is no readable JWT. Lets
 * tests see under which identity each effect was applied.
 *
 * @example
 * requestSubject(req.headers.authorization); // 'alice'
 */
export function requestSubject(authorization: string | undefined): string | undefined {
  const m = typeof authorization === 'string' ? /^Bearer [^.\s]+\.([^.\s]+)\.[^.\s]+$/.exec(authorization) : null;
  if (!m) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(m[1] as string, 'base64url').toString('utf8')) as { sub?: unknown };
    return typeof claims.sub === 'string' ? claims.sub : undefined;
  } catch {
    return undefined;
  }
}
