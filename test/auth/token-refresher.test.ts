import { NEVER, Observable, Subject, defer, of, tap } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { marbles } from 'rxjs-marbles/jest';
import { TOKEN_MANAGER_DEFAULTS, createTokenRefresher, type ObservableTokenSource } from '../../src/auth/token-refresher';
import { AuthError, NetworkError, TimeoutError, ValidationError } from '../../src/errors/sync-error';
import { fakeJwt } from '../observability/fixtures';

const tokenExpiringAt = (expMs: number, n = 0): string => fakeJwt({ sub: 'u', exp: expMs / 1000, n });

/**
 * A token source whose refreshes answer with the given (cold) Observables in
 * turn, NEVER once they run out; it stores a refreshed token where
 * `getToken` reads, and records on which frame each refresh was asked for.
 */
function source(scheduler: TestScheduler, initial: string | null, answers: Array<Observable<string>> = []) {
  let stored = initial;
  const src: ObservableTokenSource & { refreshes: number[]; reads: number; store: (t: string | null) => void } = {
    refreshes: [],
    reads: 0,
    store: (t) => (stored = t),
    getToken: () =>
      defer(() => {
        src.reads += 1;
        return of(stored);
      }),
    refreshToken: () => {
      src.refreshes.push(scheduler.now());
      return (answers.shift() ?? NEVER).pipe(tap((t) => (stored = t)));
    },
  };
  return src;
}

/** Subscribe at `frame`, recording what arrives and when. */
function record<T>(scheduler: TestScheduler, frame: number, make: () => Observable<T>) {
  const r: { values: T[]; error?: unknown; at?: number; done: boolean } = { values: [], done: false };
  scheduler.schedule(() => {
    make().subscribe({
      next: (v) => r.values.push(v),
      error: (e: unknown) => Object.assign(r, { error: e, at: scheduler.now(), done: true }),
      complete: () => Object.assign(r, { at: scheduler.now(), done: true }),
    });
  }, frame);
  return r;
}

describe('createTokenRefresher (marbles, on the injected scheduler)', () => {
  const t0 = tokenExpiringAt(100_000);
  const t1 = tokenExpiringAt(200_000, 1);

  it(
    'returns the stored token while it is valid for more than the skew',
    marbles((m) => {
      const src = source(m.scheduler, t0);
      const tm = createTokenRefresher(src, { scheduler: m.scheduler, now: () => 69_999, skewMs: 30_000, refreshAhead: false });
      m.expect(tm.token()).toBeObservable('(a|)', { a: t0 });
      m.flush();
      expect(src.refreshes).toEqual([]);
    }),
  );

  it(
    'refreshes proactively at exp − skew, and concurrent callers share one refresh',
    marbles((m) => {
      const src = source(m.scheduler, t0, [m.cold('--b|', { b: t1 })]);
      const tm = createTokenRefresher(src, { scheduler: m.scheduler, now: () => 70_000, skewMs: 30_000, refreshAhead: false });
      m.expect(tm.token()).toBeObservable('      --(b|)', { b: t1 });
      m.expect(tm.token()).toBeObservable('      --(b|)', { b: t1 });
      m.expect(tm.token()).toBeObservable('      --(b|)', { b: t1 });
      m.expect(tm.refresh(t0)).toBeObservable(' --(b|)', { b: t1 });
      m.expect(tm.token(), '-----^').toBeObservable('-----(b|)', { b: t1 });
      m.flush();
      expect(src.refreshes).toEqual([0]);
    }),
  );

  it(
    'callers whose token reads overlap still share one refresh',
    marbles((m) => {
      let reads = 0;
      let refreshes = 0;
      const tm = createTokenRefresher(
        {
          getToken: () => {
            reads += 1;
            return m.cold('-a|', { a: t0 }); // the keychain answers a frame later
          },
          refreshToken: () => {
            refreshes += 1;
            return m.cold('--b|', { b: t1 });
          },
        },
        { scheduler: m.scheduler, now: () => 70_000, skewMs: 30_000, refreshAhead: false },
      );
      m.expect(tm.token()).toBeObservable('     ---(b|)', { b: t1 });
      m.expect(tm.token()).toBeObservable('     ---(b|)', { b: t1 });
      m.expect(tm.refresh(t0)).toBeObservable('---(b|)', { b: t1 });
      m.flush();
      expect([reads, refreshes]).toEqual([3, 1]);
    }),
  );

  it(
    'null when signed out, without refreshing',
    marbles((m) => {
      const src = source(m.scheduler, null);
      const tm = createTokenRefresher(src, { scheduler: m.scheduler, now: () => 0, refreshAhead: false });
      m.expect(tm.token()).toBeObservable('(n|)', { n: null });
      m.flush();
      expect(src.refreshes).toEqual([]);
    }),
  );

  it(
    'an opaque token is never refreshed proactively (only on 401)',
    marbles((m) => {
      const src = source(m.scheduler, 'opaque', [m.cold('-b|', { b: 'opaque-2' })]);
      const tm = createTokenRefresher(src, { scheduler: m.scheduler, now: () => 1e15, refreshAhead: false });
      m.expect(tm.token()).toBeObservable('(a|)', { a: 'opaque' });
      m.expect(tm.refresh('opaque'), '--^').toBeObservable('---(b|)', { b: 'opaque-2' });
      m.flush();
      expect(src.refreshes).toEqual([2]);
    }),
  );

  describe('refresh (the 401 path)', () => {
    const far0 = tokenExpiringAt(1_000_000);
    const far1 = tokenExpiringAt(2_000_000, 1);

    it(
      'refreshes a token that is valid by its exp but refused by the server',
      marbles((m) => {
        const src = source(m.scheduler, far0, [m.cold('-b|', { b: far1 })]);
        const tm = createTokenRefresher(src, { scheduler: m.scheduler, now: () => 0, refreshAhead: false });
        m.expect(tm.refreshed$).toBeObservable('-r', { r: undefined });
        m.expect(tm.refresh(far0)).toBeObservable('-(b|)', { b: far1 });
      }),
    );

    it(
      'two 401s for the same token: one refresh; a late 401 for an old token: no refresh at all',
      marbles((m) => {
        const src = source(m.scheduler, far0, [m.cold('-b|', { b: far1 })]);
        const tm = createTokenRefresher(src, { scheduler: m.scheduler, now: () => 0, refreshAhead: false });
        m.expect(tm.refresh(far0)).toBeObservable('-(b|)', { b: far1 });
        m.expect(tm.refresh(far0)).toBeObservable('-(b|)', { b: far1 });
        m.expect(tm.refresh(far0), '---^').toBeObservable('---(b|)', { b: far1 }); // someone already refreshed
        m.flush();
        expect(src.refreshes).toEqual([0]);
      }),
    );

    it(
      'a failed refresh fails every waiter with AuthError (cause kept) and the next call tries again',
      marbles((m) => {
        const cause = new Error('invalid_grant');
        const src = source(m.scheduler, far0, [m.cold<string>('-#', undefined, cause), m.cold('-c|', { c: 't2' })]);
        const tm = createTokenRefresher(src, { scheduler: m.scheduler, now: () => 0, refreshAhead: false });
        const a = record(m.scheduler, 0, () => tm.refresh(far0));
        const b = record(m.scheduler, 0, () => tm.refresh(far0));
        m.expect(tm.refresh(far0), '---^').toBeObservable('----(c|)', { c: 't2' });
        m.flush();
        expect(a.error).toBeInstanceOf(AuthError);
        expect([a.at, b.at]).toEqual([1, 1]);
        expect(b.error).toBe(a.error);
        expect((b.error as AuthError).cause).toBe(cause);
        expect((b.error as AuthError).code).toBe('refresh_failed');
        expect(src.refreshes).toEqual([0, 3]);
      }),
    );

    it(
      'passes a SyncError from the refresh through (e.g. offline)',
      marbles((m) => {
        const offline = new NetworkError();
        const src = source(m.scheduler, 't', [m.cold<string>('-#', undefined, offline)]);
        const tm = createTokenRefresher(src, { scheduler: m.scheduler, now: () => 0, refreshAhead: false });
        const p = record(m.scheduler, 0, () => tm.refresh('t'));
        m.flush();
        expect(p.error).toBe(offline);
      }),
    );

    it(
      'a refreshToken that throws synchronously fails, and does not wedge later refreshes',
      marbles((m) => {
        let calls = 0;
        const tm = createTokenRefresher(
          {
            getToken: () => of('t'),
            refreshToken: () => {
              calls += 1;
              if (calls === 1) throw new Error('sync throw');
              return of('t2');
            },
          },
          { scheduler: m.scheduler, now: () => 0, refreshAhead: false },
        );
        const first = record(m.scheduler, 0, () => tm.refresh('t'));
        m.expect(tm.refresh('t'), '-^').toBeObservable('-(a|)', { a: 't2' });
        m.flush();
        expect(first.error).toBeInstanceOf(AuthError);
        expect(first.at).toBe(0);
      }),
    );

    it(
      'token() and refresh(rejected) are cold: nothing is asked of the source until subscribed',
      marbles((m) => {
        const src = source(m.scheduler, far0, [m.cold('-b|', { b: 't1' })]);
        const tm = createTokenRefresher(src, { scheduler: m.scheduler, now: () => 0, refreshAhead: false });
        const token$ = tm.token();
        const refresh$ = tm.refresh(far0);
        expect([src.reads, src.refreshes]).toEqual([0, []]);
        m.expect(token$).toBeObservable('(a|)', { a: far0 });
        m.expect(refresh$, '--^').toBeObservable('---(b|)', { b: 't1' });
        m.flush();
        expect([src.reads, src.refreshes]).toEqual([2, [2]]);
      }),
    );

    it(
      'an empty refreshed token is an AuthError',
      marbles((m) => {
        const src = source(m.scheduler, 't', [m.cold('-e|', { e: '' })]);
        const tm = createTokenRefresher(src, { scheduler: m.scheduler, now: () => 0, refreshAhead: false });
        const p = record(m.scheduler, 0, () => tm.refresh('t'));
        m.flush();
        expect(p.error).toMatchObject({ kind: 'auth', code: 'refresh_empty' });
        expect(p.at).toBe(1);
      }),
    );
  });

  it(
    'keeps the refreshed token when the source does not store it, until the source changes',
    marbles((m) => {
      let stored = t0;
      const tm = createTokenRefresher(
        { getToken: () => defer(() => of(stored)), refreshToken: () => of(t1) },
        { scheduler: m.scheduler, now: () => 0, refreshAhead: false },
      );
      m.expect(tm.refresh(t0)).toBeObservable('(b|)', { b: t1 });
      m.expect(tm.token(), '-^').toBeObservable('-(b|)', { b: t1 }); // the source still says t0
      m.scheduler.schedule(() => (stored = 'signed-in-again'), 2);
      m.expect(tm.token(), '---^').toBeObservable('---(s|)', { s: 'signed-in-again' });
    }),
  );

  describe('background refresh', () => {
    it(
      'refreshes at exp − skew while tokens are being used, then stops for an idle app',
      marbles((m) => {
        const t2 = tokenExpiringAt(300_000, 2);
        const src = source(m.scheduler, t0, [m.cold('10ms b|', { b: t1 }), m.cold('5ms c|', { c: t2 })]);
        const tm = createTokenRefresher(src, { scheduler: m.scheduler, skewMs: 30_000 });
        const refreshed: number[] = [];
        tm.refreshed$.subscribe(() => refreshed.push(m.scheduler.now()));
        // Asking at 0 arms the timer for 70 000; the refresh answers at
        // 70 010 and re-arms for 170 000, but nobody asks for a token since.
        m.expect(tm.token()).toBeObservable('(a|)', { a: t0 });
        // The next send still gets a fresh token, through the on-demand check.
        const next = record(m.scheduler, 180_000, () => tm.token());
        m.scheduler.schedule(() => tm.dispose(), 190_000);
        m.flush();
        expect(src.refreshes).toEqual([70_000, 180_000]); // none at 170 000: idle
        expect(refreshed).toEqual([70_010, 180_005]);
        expect(next).toEqual({ values: [t2], at: 180_005, done: true });
      }),
    );

    it(
      'a token valid for years waits in ≤ 2^31−1 ms steps (no timer overflow firing at once)',
      marbles((m) => {
        const fiveYears = 5 * 365 * 24 * 3_600_000;
        const src = source(m.scheduler, tokenExpiringAt(fiveYears), [m.cold('-b|', { b: tokenExpiringAt(2 * fiveYears, 1) })]);
        const delays: number[] = [];
        const schedule = m.scheduler.schedule.bind(m.scheduler);
        m.scheduler.schedule = ((work: () => void, delay?: number, state?: unknown) => {
          delays.push(delay ?? 0);
          return schedule(work, delay, state);
        }) as typeof m.scheduler.schedule;
        const tm = createTokenRefresher(src, { scheduler: m.scheduler, skewMs: 30_000 });
        m.expect(tm.token()).toBeObservable('(a|)', { a: tokenExpiringAt(fiveYears) });
        m.flush();
        expect(delays.every((d) => d <= 2_147_483_647)).toBe(true);
        expect(delays.length).toBeGreaterThan(70); // ~5 years / 24.8 days
        expect(src.refreshes).toEqual([fiveYears - 30_000]);
        tm.dispose();
      }),
    );

    it(
      'dispose cancels the timer',
      marbles((m) => {
        const src = source(m.scheduler, t0);
        const tm = createTokenRefresher(src, { scheduler: m.scheduler, skewMs: 30_000 });
        m.expect(tm.token()).toBeObservable('(a|)', { a: t0 });
        m.scheduler.schedule(() => tm.dispose(), 10);
        m.flush();
        expect(src.refreshes).toEqual([]);
        expect(m.scheduler.now()).toBe(10);
      }),
    );
  });

  describe('callbacks that never settle (timeoutMs)', () => {
    it(
      'a refreshToken() that never settles fails every waiter at timeoutMs (default 30 s) with refresh_timeout, and clears the single flight',
      marbles((m) => {
        expect(TOKEN_MANAGER_DEFAULTS.timeoutMs).toBe(30_000);
        const late$ = new Subject<string>();
        let calls = 0;
        const tm = createTokenRefresher(
          {
            getToken: () => of('t0'),
            refreshToken: () => {
              calls += 1;
              return calls === 1 ? late$ : of('t2');
            },
          },
          { scheduler: m.scheduler, refreshAhead: false },
        );
        const refreshed: number[] = [];
        tm.refreshed$.subscribe(() => refreshed.push(m.scheduler.now()));
        const forced = record(m.scheduler, 0, () => tm.refresh('t0'));
        const joined = record(m.scheduler, 1, () => tm.token()); // joins the refresh in flight
        // No stale refresh survives: the next caller starts a new one…
        m.expect(tm.token(), '30001ms ^').toBeObservable('30001ms (a|)', { a: 't0' });
        m.expect(tm.refresh('t0'), '30002ms ^').toBeObservable('30002ms (b|)', { b: 't2' });
        // …and the abandoned one's late answer is ignored.
        m.scheduler.schedule(() => late$.next('t1-late'), 30_003);
        m.expect(tm.token(), '30004ms ^').toBeObservable('30004ms (b|)', { b: 't2' });
        m.flush();
        expect([forced.at, joined.at]).toEqual([30_000, 30_000]);
        expect(forced.error).toBeInstanceOf(AuthError);
        expect(forced.error).toMatchObject({ kind: 'auth', code: 'refresh_timeout' });
        expect(joined.error).toBe(forced.error);
        expect(calls).toBe(2);
        expect(refreshed).toEqual([30_002]);
        tm.dispose();
      }),
    );

    it(
      'a getToken() that never settles fails at timeoutMs with TimeoutError(token_timeout); the next call reads again and leaves no timer behind',
      marbles((m) => {
        let calls = 0;
        const tm = createTokenRefresher(
          { getToken: () => (++calls === 1 ? NEVER : m.cold('-a|', { a: 't1' })), refreshToken: () => NEVER },
          { scheduler: m.scheduler, timeoutMs: 5_000, refreshAhead: false },
        );
        const first = record(m.scheduler, 0, () => tm.token());
        const second = record(m.scheduler, 5_001, () => tm.token());
        const pendingAfter: number[] = [];
        m.scheduler.schedule(() => pendingAfter.push(m.scheduler.actions.length), 5_010);
        m.flush();
        expect(first.at).toBe(5_000);
        expect(first.error).toBeInstanceOf(TimeoutError);
        expect(first.error).toMatchObject({ kind: 'timeout', code: 'token_timeout' });
        expect(second).toEqual({ values: ['t1'], at: 5_002, done: true });
        expect(pendingAfter).toEqual([0]); // its timeout was cancelled with the answer
        tm.dispose();
      }),
    );

    it(
      'dispose() fails the calls still waiting at once and leaves no timer behind',
      marbles((m) => {
        let reads = 0;
        const tm = createTokenRefresher(
          { getToken: () => (++reads === 1 ? NEVER : of('t')), refreshToken: () => NEVER },
          { scheduler: m.scheduler, refreshAhead: false },
        );
        const reading = record(m.scheduler, 0, () => tm.token());
        const refreshing = record(m.scheduler, 1, () => tm.refresh(null));
        const pending: number[] = [];
        m.scheduler.schedule(() => {
          pending.push(m.scheduler.actions.length);
          tm.dispose();
          pending.push(m.scheduler.actions.length);
        }, 2);
        m.flush();
        expect(pending).toEqual([2, 0]);
        expect([reading.at, refreshing.at]).toEqual([2, 2]);
        expect(reading.error).toMatchObject({ code: 'token_timeout' });
        expect(refreshing.error).toMatchObject({ code: 'refresh_timeout' });
      }),
    );

    it(
      'a synchronous getToken() arms no timer',
      marbles((m) => {
        const tm = createTokenRefresher({ getToken: () => of('opaque'), refreshToken: () => NEVER }, { scheduler: m.scheduler, refreshAhead: false });
        const pending: number[] = [];
        const got = record(m.scheduler, 0, () => tm.token());
        m.scheduler.schedule(() => pending.push(m.scheduler.actions.length), 0);
        m.flush();
        expect(got).toEqual({ values: ['opaque'], at: 0, done: true });
        expect(pending).toEqual([0]);
      }),
    );

    it.each([0, -1, NaN, Infinity, 2 ** 31, '100' as unknown as number])('refuses timeoutMs %p', (timeoutMs) => {
      expect(() => createTokenRefresher({ getToken: () => of(null), refreshToken: () => NEVER }, { timeoutMs })).toThrow(ValidationError);
    });
  });
});
