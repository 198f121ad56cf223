import { NEVER, of, throwError, type Observable } from 'rxjs';
import { fromCall } from '../../streams/from-call';
import type { AuthPort } from '../../streams/ports';
import type { TokenManager } from '../auth/token-manager';
import { AuthError } from '../errors/sync-error';

/**
 * The single-flight `TokenManager` as the streams' Observable `AuthPort`.
 *
 * @example
 * const auth = authPortFromTokenManager(createTokenManager({ getToken, refreshToken }));
 */
export function authPortFromTokenManager(tokens: TokenManager): AuthPort {
  return {
    token: (): Observable<string | null> => fromCall(() => tokens.getToken()),
    refresh: (rejected): Observable<string> => fromCall(() => tokens.forceRefresh(rejected)),
    refreshed$: tokens.refreshed$,
    forget: () => tokens.forget(),
  };
}

/** `AuthError.code` when a server answers 401 to an engine created without `auth`. */
export const NO_CREDENTIALS = 'no_credentials';

/**
 * The `AuthPort` of an engine without `auth`: requests go without an
 * `Authorization` header and nothing is ever called for a token. A 401 has
 * no refresh to try: the engine waits in `authRequired` with
 * `status$.lastError` `{ kind: 'auth', status: 401, code: 'no_credentials' }`.
 *
 * @example
 * const auth = options.auth === undefined ? anonymousAuthPort() : authPortFromTokenManager(tokens);
 */
export function anonymousAuthPort(): AuthPort {
  return {
    anonymous: true,
    token: () => of(null),
    refresh: () => throwError(() => new AuthError({ status: 401, code: NO_CREDENTIALS })),
    refreshed$: NEVER,
  };
}
