import { defer, firstValueFrom, from, of, type Observable } from 'rxjs';
import { createTokenRefresher, type TokenManagerOptions } from './token-refresher';

export { TOKEN_MANAGER_DEFAULTS, type TokenManagerOptions } from './token-refresher';

/** Where tokens come from: the app's auth layer. */
export interface TokenSource {
  /** The current access token (from secure storage), or null when signed out. */
  getToken(): Promise<string | null> | string | null;
  /**
   * Obtain a new access token (e.g. the refresh-token grant) and store it
   * where `getToken` reads. Reject when the user must sign in again.
   */
  refreshToken(): Promise<string>;
}

/** Single-flight access-token provider for the API client. */
export interface TokenManager {
  /**
   * A token valid for at least `skewMs` when its `exp` is known: refreshes
   * first when it is closer to expiry. Null when signed out. Concurrent
   * callers share one refresh. Rejects with `TimeoutError` (code
   * `token_timeout`) when the source's `getToken()` has not settled within
   * `timeoutMs`.
   */
  getToken(): Promise<string | null>;
  /**
   * Refresh now, for the 401 path. Pass the token the server refused: if
   * another caller already replaced it, the newer token is returned without
   * a second refresh. Coalesces with any refresh in flight. Rejects with an
   * `AuthError` (cause attached) when the refresh fails, code
   * `refresh_timeout` when it has not settled within `timeoutMs`.
   */
  forceRefresh(rejected?: string | null): Promise<string>;
  /** Emits after every successful refresh (the engine's `tokenRefreshed`). */
  readonly refreshed$: Observable<void>;
  /**
   * `getToken()` as a cold Observable (one value, then complete): with
   * `refresh` and `refreshed$` this is the pipeline's `AuthPort`.
   */
  token(): Observable<string | null>;
  /** `forceRefresh(rejected)` as a cold Observable. */
  refresh(rejected: string | null): Observable<string>;
  /**
   * Forget everything held for the user signed in so far: the refresh in
   * flight (its callers fail with `AuthError` code `account_changed`, its
   * token is never handed out), the refreshed token, the proactive refresh
   * timer. The next call asks the source afresh. The engine calls it on
   * every account change, so no token of one account is used for another.
   */
  forget(): void;
  /**
   * Cancel the background refresh timer, and fail the calls still waiting
   * for the source at once (their timeout timers would keep a Node process
   * alive for up to `timeoutMs`).
   */
  dispose(): void;
}

const isThenable = <T>(v: T | PromiseLike<T>): v is PromiseLike<T> =>
  typeof v === 'object' && v !== null && typeof (v as PromiseLike<T>).then === 'function';

/** One of the app's callbacks as a cold Observable: called on subscribe; a plain value stays synchronous. */
const answerOf = <T>(call: () => T | PromiseLike<T>): Observable<T> =>
  defer(() => {
    const answer = call();
    return isThenable(answer) ? from(answer) : of(answer);
  });

/**
 * Wrap the app's token source with proactive, single-flight refresh: the
 * JWT's `exp` is decoded (not verified) and the token refreshed at
 * `exp − skewMs`, before sends would start failing with 401; never more than
 * one refresh in flight. The work is done by the Observable
 * `createTokenRefresher` on the injected scheduler; this is its edge, where
 * the app's Promises come in and go out.
 *
 * If `refreshToken` does not store the new token where `getToken` reads it,
 * the manager keeps using the refreshed token for as long as the source
 * still returns the token it replaced.
 *
 * @example
 * const tokens = createTokenManager({ getToken: () => auth.accessToken, refreshToken: () => auth.refresh() });
 * const headers = { Authorization: `Bearer ${await tokens.getToken()}` };
 */
export function createTokenManager(source: TokenSource, options: TokenManagerOptions = {}): TokenManager {
  const tokens = createTokenRefresher(
    { getToken: () => answerOf(() => source.getToken()), refreshToken: () => answerOf(() => source.refreshToken()) },
    options,
  );
  return {
    getToken: () => firstValueFrom(tokens.token()),
    forceRefresh: (rejected) => firstValueFrom(tokens.refresh(rejected ?? null)),
    token: () => tokens.token(),
    refresh: (rejected) => tokens.refresh(rejected),
    refreshed$: tokens.refreshed$,
    forget: () => tokens.forget(),
    dispose: () => tokens.dispose(),
  };
}
