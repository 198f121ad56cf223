import type { Observable } from 'rxjs';
import { fromCall } from '../../streams/from-call';
import type { AuthPort } from '../../streams/ports';
import type { TokenManager } from '../auth/token-manager';

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
