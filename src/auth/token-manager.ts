import {
  ReplaySubject,
  Subject,
  asyncScheduler,
  defer,
  firstValueFrom,
  from,
  takeUntil,
  throwError,
  throwIfEmpty,
  timeout,
  type Observable,
  type SchedulerLike,
  type Subscription,
} from 'rxjs';
import { AuthError, SyncError, TimeoutError, ValidationError } from '../errors/sync-error';
import { noopLogger, redactingLogger, type Logger } from '../observability/logger';
import { jwtExpiresAt } from './jwt-exp';

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

/** Options of `createTokenManager`; every field optional. */
export interface TokenManagerOptions {
  /** Clock, epoch ms. Default `scheduler.now()`. */
  readonly now?: () => number;
  /** Refresh this long before `exp`. Default 30 000 ms. */
  readonly skewMs?: number;
  /** Schedules the proactive refresh. Default `asyncScheduler`. */
  readonly scheduler?: SchedulerLike;
  /**
   * Also refresh in the background at `exp − skew` (not only when a send
   * asks for the token). The timer is re-armed only while tokens are being
   * asked for, so an idle app stops refreshing. Default true.
   */
  readonly refreshAhead?: boolean;
  /** Logs refreshes and refresh failures (redacted). Default: no output. */
  readonly logger?: Logger;
  /**
   * Longest wait, ms on `scheduler`, for the source's `getToken()` or
   * `refreshToken()` to settle (at most 2^31 − 1). A refresh still pending
   * then fails like a rejected one (`AuthError`, code `refresh_timeout`) and
   * is abandoned: the single flight is cleared, its late answer ignored, the
   * next caller starts a new refresh. A `getToken()` still pending fails
   * with `TimeoutError` (code `token_timeout`). Default 30 000.
   */
  readonly timeoutMs?: number;
}

/** Defaults of `TokenManagerOptions`. */
export const TOKEN_MANAGER_DEFAULTS = { skewMs: 30_000, refreshAhead: true, timeoutMs: 30_000 } as const;

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

/** setTimeout's largest delay; beyond it browsers and Node fire at once. */
const MAX_TIMER_MS = 2_147_483_647;

const toAuthError = (e: unknown): SyncError =>
  e instanceof SyncError ? e : new AuthError({ code: 'refresh_failed', cause: e });

const isThenable = <T>(v: T | PromiseLike<T>): v is PromiseLike<T> =>
  typeof v === 'object' && v !== null && typeof (v as PromiseLike<T>).then === 'function';

/**
 * Wrap the app's token source with proactive, single-flight refresh: the
 * JWT's `exp` is decoded (not verified) and the token refreshed at
 * `exp − skewMs`, before sends would start failing with 401; never more than
 * one refresh in flight.
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
  const scheduler = options.scheduler ?? asyncScheduler;
  const now = options.now ?? (() => scheduler.now());
  const skewMs = options.skewMs ?? TOKEN_MANAGER_DEFAULTS.skewMs;
  const refreshAhead = options.refreshAhead ?? TOKEN_MANAGER_DEFAULTS.refreshAhead;
  const timeoutMs = options.timeoutMs ?? TOKEN_MANAGER_DEFAULTS.timeoutMs;
  if (!(typeof timeoutMs === 'number' && timeoutMs > 0 && timeoutMs <= MAX_TIMER_MS)) {
    throw new ValidationError('invalidOptions', `timeoutMs: expected a number of ms in (0, ${MAX_TIMER_MS}]`);
  }
  const log = redactingLogger(options.logger ?? noopLogger);
  const refreshed$ = new Subject<void>();
  const disposed$ = new ReplaySubject<void>(1);

  // The app's callbacks may never settle (a hung keychain read, a refresh
  // request without a timeout): without a bound, the single flight below
  // would hand every later caller the same forever-pending promise.
  const bounded = <T>(value: T | PromiseLike<T>, timedOut: () => SyncError): Promise<T> =>
    isThenable(value)
      ? firstValueFrom(
          from(value).pipe(
            timeout({ first: timeoutMs, scheduler, with: () => throwError(timedOut) }),
            // Disposed while waiting: the same failure, and no timer left.
            takeUntil(disposed$),
            throwIfEmpty(timedOut),
          ),
        )
      : Promise.resolve(value);

  let inflight: Promise<string> | null = null;
  let replaced: string | null = null; // the token the last refresh replaced
  let fresh: string | null = null; // the token the last refresh produced
  let timer: Subscription | null = null;
  let usedSinceArmed = false;
  let disposed = false;
  // Moved on by `forget()`: a refresh started before it is not the new user's.
  let generation = 0;

  // `exp` of the last token decoded: every send asks for the token, and
  // decoding it (base64url + JSON) each time costs more than the check.
  let expOf: { readonly token: string; readonly exp: number | undefined } | null = null;
  const expiresAt = (token: string): number | undefined => {
    if (expOf === null || expOf.token !== token) expOf = { token, exp: jwtExpiresAt(token) };
    return expOf.exp;
  };

  const needsRefresh = (token: string): boolean => {
    const exp = expiresAt(token);
    return exp !== undefined && now() >= exp - skewMs;
  };

  const current = async (): Promise<string | null> => {
    const gen = generation;
    const token = await bounded(source.getToken(), () => new TimeoutError({ code: 'token_timeout' }));
    // Read for the user signed in before `forget()`: neither handed out nor
    // refreshed (its refresh would pair it with the next user's token).
    if (gen !== generation) throw new AuthError({ code: 'account_changed' });
    if (token !== null && token === replaced && fresh !== null) return fresh;
    return token;
  };

  const arm = (token: string): void => {
    timer?.unsubscribe();
    timer = null;
    usedSinceArmed = false;
    if (!refreshAhead || disposed) return;
    const exp = expiresAt(token);
    if (exp === undefined) return;
    const due = exp - skewMs;
    const wake = (): void => {
      timer = null;
      // Timers cap at 2^31 − 1 ms (~24.8 days); a longer-lived token re-arms.
      if (now() < due) {
        timer = scheduler.schedule(wake, Math.min(due - now(), MAX_TIMER_MS));
        return;
      }
      // Only keep refreshing for an app that is still using tokens.
      if (!usedSinceArmed || inflight !== null) return;
      void refresh(token, true).catch(() => undefined);
    };
    timer = scheduler.schedule(wake, Math.min(Math.max(0, due - now()), MAX_TIMER_MS));
  };

  const refresh = (old: string | null, proactive: boolean): Promise<string> => {
    if (inflight !== null) return inflight;
    const gen = generation;
    // Started in a microtask, so even a synchronous throw in `refreshToken`
    // settles `run` after `inflight` points at it (and is cleared again).
    // Timed out, `run` rejects and clears `inflight` like any failed
    // refresh; the abandoned call's late answer goes nowhere.
    const run: Promise<string> = Promise.resolve()
      .then(() => bounded(source.refreshToken(), () => new AuthError({ code: 'refresh_timeout' })))
      .then(
        (token) => {
          if (gen !== generation) throw new AuthError({ code: 'account_changed' });
          if (typeof token !== 'string' || token === '') throw new AuthError({ code: 'refresh_empty' });
          replaced = old;
          fresh = token;
          log.info('sync.auth.refreshed', { proactive, expiresAt: expiresAt(token) });
          refreshed$.next();
          arm(token);
          return token;
        },
      )
      .catch((e: unknown) => {
        const err = toAuthError(e);
        log.warn('sync.auth.refresh_failed', { proactive, error: err });
        throw err;
      })
      .finally(() => {
        if (inflight === run) inflight = null;
      });
    inflight = run;
    return run;
  };

  const getToken = async (): Promise<string | null> => {
    usedSinceArmed = true;
    if (inflight !== null) return inflight;
    const token = await current();
    if (token === null) return null;
    if (needsRefresh(token)) return refresh(token, true);
    if (timer === null) arm(token);
    usedSinceArmed = true;
    return token;
  };

  const forceRefresh = async (rejected?: string | null): Promise<string> => {
    usedSinceArmed = true;
    if (inflight !== null) return inflight;
    const token = await current();
    // Someone refreshed since that request was sent: use their token.
    if (rejected != null && token !== null && token !== rejected && !needsRefresh(token)) return token;
    return refresh(token, false);
  };

  return {
    getToken,
    forceRefresh,
    token: () => defer(() => from(getToken())),
    refresh: (rejected) => defer(() => from(forceRefresh(rejected))),
    refreshed$: refreshed$.asObservable(),
    forget: () => {
      generation += 1;
      inflight = null;
      replaced = null;
      fresh = null;
      timer?.unsubscribe();
      timer = null;
    },
    dispose: () => {
      disposed = true;
      disposed$.next();
      timer?.unsubscribe();
      timer = null;
      refreshed$.complete();
    },
  };
}
