import {
  AsyncSubject,
  Observable,
  ReplaySubject,
  Subject,
  asyncScheduler,
  catchError,
  defer,
  filter,
  map,
  mergeMap,
  of,
  race,
  repeat,
  switchMap,
  take,
  tap,
  throwError,
  throwIfEmpty,
  timeout,
  timer,
  type SchedulerLike,
  type Subscription,
} from 'rxjs';
import { AuthError, SyncError, TimeoutError, ValidationError } from '../errors/sync-error';
import { noopLogger, redactingLogger, type Logger } from '../log/logger';
import { jwtExpiresAt } from './jwt-exp';

/** The app's token source with Observable faces (see `createTokenManager` for the Promise one). */
export interface ObservableTokenSource {
  /** The current access token, or null when signed out: one value. */
  getToken(): Observable<string | null>;
  /** A new access token, stored where `getToken` reads: one value; an error when the user must sign in again. */
  refreshToken(): Observable<string>;
}

/** Options of `createTokenManager`; every field optional. */
export interface TokenManagerOptions {
  /** Clock, epoch ms. Default `scheduler.now()`. */
  readonly now?: () => number;
  /** Refresh this long before `exp`. Default 30 000 ms. */
  readonly skewMs?: number;
  /** Schedules the proactive refresh and the timeouts. Default `asyncScheduler`. */
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

/** The token manager's Observable faces: the pipeline's `AuthPort`, plus `dispose`. */
export interface TokenRefresher {
  /** A token valid for at least `skewMs` when its `exp` is known (refreshed first if not); null when signed out. */
  token(): Observable<string | null>;
  /** Refresh for the 401 path, unless the refused token was already replaced; joins a refresh in flight. */
  refresh(rejected: string | null): Observable<string>;
  /** Emits after every successful refresh. */
  readonly refreshed$: Observable<void>;
  /**
   * Forget everything held for the user signed in so far: the refresh in
   * flight (its callers fail with `AuthError` code `account_changed`, its
   * token is never handed out), the refreshed token, the proactive refresh
   * timer, a token read still under way. The next call asks the source
   * afresh. The engine calls it on every account change.
   */
  forget(): void;
  /** Cancel the background refresh and fail the calls still waiting for the source at once. */
  dispose(): void;
}

/** setTimeout's largest delay; beyond it browsers and Node fire at once. */
const MAX_TIMER_MS = 2_147_483_647;

const toAuthError = (e: unknown): SyncError =>
  e instanceof SyncError ? e : new AuthError({ code: 'refresh_failed', cause: e });

interface Config {
  readonly scheduler: SchedulerLike;
  readonly now: () => number;
  readonly skewMs: number;
  readonly refreshAhead: boolean;
  readonly timeoutMs: number;
  readonly log: Logger;
}

function configOf(options: TokenManagerOptions): Config {
  const scheduler = options.scheduler ?? asyncScheduler;
  const timeoutMs = options.timeoutMs ?? TOKEN_MANAGER_DEFAULTS.timeoutMs;
  if (!(typeof timeoutMs === 'number' && timeoutMs > 0 && timeoutMs <= MAX_TIMER_MS)) {
    throw new ValidationError('invalidOptions', `timeoutMs: expected a number of ms in (0, ${MAX_TIMER_MS}]`);
  }
  return {
    scheduler,
    now: options.now ?? (() => scheduler.now()),
    skewMs: options.skewMs ?? TOKEN_MANAGER_DEFAULTS.skewMs,
    refreshAhead: options.refreshAhead ?? TOKEN_MANAGER_DEFAULTS.refreshAhead,
    timeoutMs,
    log: redactingLogger(options.logger ?? noopLogger),
  };
}

/**
 * Proactive, single-flight token refresh over an Observable token source,
 * with every timer on the injected scheduler: the JWT's `exp` is decoded
 * (not verified) and the token refreshed at `exp − skewMs`, before sends
 * would start failing with 401; never more than one refresh in flight.
 * `createTokenManager` puts the app's Promise callbacks in front of it.
 *
 * If `refreshToken` does not store the new token where `getToken` reads it,
 * the refresher keeps using the refreshed token for as long as the source
 * still returns the token it replaced.
 *
 * @example
 * const tokens = createTokenRefresher({ getToken: () => of(stored), refreshToken: () => refresh$ }, { scheduler });
 * tokens.token().subscribe((token) => send(token));
 */
export function createTokenRefresher(source: ObservableTokenSource, options: TokenManagerOptions = {}): TokenRefresher {
  return new Refresher(source, configOf(options));
}

class Refresher implements TokenRefresher {
  readonly #refreshed = new Subject<void>();
  readonly #disposed$ = new ReplaySubject<void>(1);
  readonly refreshed$ = this.#refreshed.asObservable();
  /** The refresh in flight: every caller meanwhile shares its answer. */
  #inflight: AsyncSubject<string> | null = null;
  #replaced: string | null = null; // the token the last refresh replaced
  #fresh: string | null = null; // the token the last refresh produced
  #timer: Subscription | null = null;
  #usedSinceArmed = false;
  #disposed = false;
  // Moved on by `forget()`: a read or refresh started before it is not the new user's.
  #generation = 0;
  // `exp` of the last token decoded: every send asks for the token, and
  // decoding it (base64url + JSON) each time costs more than the check.
  #expOf: { readonly token: string; readonly exp: number | undefined } | null = null;

  constructor(
    private readonly source: ObservableTokenSource,
    private readonly config: Config,
  ) {}

  token(): Observable<string | null> {
    return defer(() => {
      this.#usedSinceArmed = true;
      if (this.#inflight !== null) return this.#inflight.asObservable();
      return this.#current().pipe(
        switchMap((token) => {
          if (token === null) return of(null);
          if (this.#needsRefresh(token)) return this.#refresh(token, true);
          if (this.#timer === null) this.#arm(token);
          this.#usedSinceArmed = true;
          return of(token);
        }),
      );
    });
  }

  refresh(rejected: string | null): Observable<string> {
    return defer(() => {
      this.#usedSinceArmed = true;
      if (this.#inflight !== null) return this.#inflight.asObservable();
      return this.#current().pipe(
        switchMap((token) =>
          // Someone refreshed since that request was sent: use their token.
          rejected !== null && token !== null && token !== rejected && !this.#needsRefresh(token)
            ? of(token)
            : this.#refresh(token, false),
        ),
      );
    });
  }

  forget(): void {
    this.#generation += 1;
    // Its callers fail now; its late answer is dropped (the generation moved on).
    const flight = this.#inflight;
    this.#inflight = null;
    flight?.error(new AuthError({ code: 'account_changed' }));
    this.#replaced = null;
    this.#fresh = null;
    this.#timer?.unsubscribe();
    this.#timer = null;
  }

  dispose(): void {
    this.#disposed = true;
    this.#disposed$.next();
    this.#timer?.unsubscribe();
    this.#timer = null;
    this.#refreshed.complete();
  }

  /**
   * The source's first answer, bounded: the app's callbacks may never settle
   * (a hung keychain read, a refresh request without a timeout), and without
   * a bound the single flight would hand every later caller the same
   * never-ending wait. An answer given at once arms no timer; disposing
   * fails the wait at once and leaves no timer behind.
   */
  #bounded<T>(answer$: Observable<T>, timedOut: () => SyncError): Observable<T> {
    const { timeoutMs, scheduler } = this.config;
    return race(
      answer$.pipe(timeout({ first: timeoutMs, scheduler, with: () => throwError(timedOut) })),
      this.#disposed$.pipe(mergeMap(() => throwError(timedOut))),
    ).pipe(take(1), throwIfEmpty(timedOut));
  }

  #current(): Observable<string | null> {
    return defer(() => {
      const gen = this.#generation;
      return this.#bounded(
        defer(() => this.source.getToken()),
        () => new TimeoutError({ code: 'token_timeout' }),
      ).pipe(
        map((token) => {
          // Read for the user signed in before `forget()`: neither handed out
          // nor refreshed (its refresh would pair it with the next user's token).
          if (gen !== this.#generation) throw new AuthError({ code: 'account_changed' });
          return token !== null && token === this.#replaced && this.#fresh !== null ? this.#fresh : token;
        }),
      );
    });
  }

  #expiresAt(token: string): number | undefined {
    if (this.#expOf === null || this.#expOf.token !== token) this.#expOf = { token, exp: jwtExpiresAt(token) };
    return this.#expOf.exp;
  }

  #needsRefresh(token: string): boolean {
    const exp = this.#expiresAt(token);
    return exp !== undefined && this.config.now() >= exp - this.config.skewMs;
  }

  /** Start a refresh (or join the one in flight); it runs to the end even if every caller leaves. */
  #refresh(old: string | null, proactive: boolean): Observable<string> {
    if (this.#inflight !== null) return this.#inflight.asObservable();
    const flight = new AsyncSubject<string>();
    // Set before the source is called, so even a synchronous failure
    // clears it again; a timed-out refresh clears it like any failure, and
    // its late answer goes nowhere.
    this.#inflight = flight;
    const gen = this.#generation;
    const settle = (): void => {
      if (this.#inflight === flight) this.#inflight = null;
    };
    const { log } = this.config;
    this.#bounded(
      defer(() => this.source.refreshToken()),
      () => new AuthError({ code: 'refresh_timeout' }),
    )
      .pipe(
        map((token) => {
          if (gen !== this.#generation) throw new AuthError({ code: 'account_changed' });
          if (typeof token !== 'string' || token === '') throw new AuthError({ code: 'refresh_empty' });
          return token;
        }),
        tap((token) => {
          this.#replaced = old;
          this.#fresh = token;
          log.info('sync.auth.refreshed', { proactive, expiresAt: this.#expiresAt(token) });
          this.#refreshed.next();
          this.#arm(token);
        }),
        catchError((e: unknown) => {
          const err = toAuthError(e);
          log.warn('sync.auth.refresh_failed', { proactive, error: err });
          return throwError(() => err);
        }),
        tap({ complete: settle, error: settle }),
      )
      .subscribe(flight);
    return flight.asObservable();
  }

  /** Refresh in the background at `exp − skew`, if tokens are still being asked for by then. */
  #arm(token: string): void {
    this.#timer?.unsubscribe();
    this.#timer = null;
    this.#usedSinceArmed = false;
    const { refreshAhead, scheduler, now, skewMs } = this.config;
    if (!refreshAhead || this.#disposed) return;
    const exp = this.#expiresAt(token);
    if (exp === undefined) return;
    const due = exp - skewMs;
    // Timers cap at 2^31 − 1 ms (~24.8 days): a longer-lived token waits in steps.
    this.#timer = defer(() => timer(Math.min(Math.max(0, due - now()), MAX_TIMER_MS), scheduler))
      .pipe(
        repeat(),
        filter(() => now() >= due),
        take(1),
      )
      .subscribe(() => {
        this.#timer = null;
        // Only keep refreshing for an app that is still using tokens.
        if (!this.#usedSinceArmed || this.#inflight !== null) return;
        this.#refresh(token, true).subscribe({ error: () => undefined });
      });
  }
}
