import { Observable, defer, from } from 'rxjs';
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
    // Asked once per op: one Observable rather than defer(() => from(...)).
    token: (): Observable<string | null> => fromCall(() => tokens.getToken()),
    refresh: (rejected): Observable<string> => defer(() => from(tokens.forceRefresh(rejected))),
    refreshed$: tokens.refreshed$,
  };
}

/** Calls `fn` per subscription; its value, or its throw or rejection as the error. */
function fromCall<T>(fn: () => Promise<T>): Observable<T> {
  return new Observable<T>((subscriber) => {
    let result: Promise<T>;
    try {
      result = fn();
    } catch (err) {
      subscriber.error(err);
      return;
    }
    result.then(
      (value) => {
        subscriber.next(value);
        subscriber.complete();
      },
      (err: unknown) => subscriber.error(err),
    );
  });
}
