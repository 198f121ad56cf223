import { VirtualTimeScheduler, firstValueFrom } from 'rxjs';
import { TOKEN_MANAGER_DEFAULTS, createTokenManager, type TokenSource } from '../../src/auth/token-manager';
import { AuthError, NetworkError, TimeoutError, ValidationError } from '../../src/errors/sync-error';
import { fakeJwt } from '../observability/fixtures';

const tokenExpiringAt = (expMs: number, n = 0): string => fakeJwt({ sub: 'u', exp: expMs / 1000, n });

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const flush = () => new Promise((r) => setImmediate(r));

/** A token source whose refresh is controlled by the test; it persists refreshed tokens. */
function source(initial: string | null) {
  let stored = initial;
  const pending: Array<ReturnType<typeof deferred<string>>> = [];
  const src: TokenSource & { refreshes: number; stored: () => string | null } = {
    refreshes: 0,
    stored: () => stored,
    getToken: () => stored,
    refreshToken: () => {
      src.refreshes += 1;
      const d = deferred<string>();
      pending.push(d);
      return d.promise.then((t) => {
        stored = t;
        return t;
      });
    },
  };
  const answer = async (token: string) => {
    pending.shift()!.resolve(token);
    await flush();
  };
  const fail = async (e: unknown) => {
    pending.shift()!.reject(e);
    await flush();
  };
  return { src, answer, fail };
}

describe('createTokenManager', () => {
  it('returns the stored token while it is valid for more than the skew', async () => {
    const t0 = tokenExpiringAt(100_000);
    const { src } = source(t0);
    const tm = createTokenManager(src, { now: () => 69_999, skewMs: 30_000, refreshAhead: false });
    await expect(tm.getToken()).resolves.toBe(t0);
    expect(src.refreshes).toBe(0);
  });

  it('refreshes proactively at exp − skew, and concurrent callers share one refresh', async () => {
    const t0 = tokenExpiringAt(100_000);
    const t1 = tokenExpiringAt(200_000, 1);
    const { src, answer } = source(t0);
    const tm = createTokenManager(src, { now: () => 70_000, skewMs: 30_000, refreshAhead: false });
    const callers = [tm.getToken(), tm.getToken(), tm.getToken(), tm.forceRefresh(t0)];
    await flush();
    expect(src.refreshes).toBe(1);
    await answer(t1);
    await expect(Promise.all(callers)).resolves.toEqual([t1, t1, t1, t1]);
    await expect(tm.getToken()).resolves.toBe(t1);
    expect(src.refreshes).toBe(1);
  });

  it('null when signed out, without refreshing', async () => {
    const { src } = source(null);
    const tm = createTokenManager(src, { now: () => 0, refreshAhead: false });
    await expect(tm.getToken()).resolves.toBeNull();
    expect(src.refreshes).toBe(0);
  });

  it('an opaque token is never refreshed proactively (only on 401)', async () => {
    const { src, answer } = source('opaque');
    const tm = createTokenManager(src, { now: () => 1e15, refreshAhead: false });
    await expect(tm.getToken()).resolves.toBe('opaque');
    expect(src.refreshes).toBe(0);
    const forced = tm.forceRefresh('opaque');
    await flush();
    await answer('opaque-2');
    await expect(forced).resolves.toBe('opaque-2');
  });

  describe('forceRefresh (the 401 path)', () => {
    it('refreshes a token that is valid by its exp but refused by the server', async () => {
      const t0 = tokenExpiringAt(1_000_000);
      const t1 = tokenExpiringAt(2_000_000, 1);
      const { src, answer } = source(t0);
      const refreshed: number[] = [];
      const tm = createTokenManager(src, { now: () => 0, refreshAhead: false });
      tm.refreshed$.subscribe(() => refreshed.push(1));
      const p = tm.forceRefresh(t0);
      await flush();
      await answer(t1);
      await expect(p).resolves.toBe(t1);
      expect(refreshed).toEqual([1]);
    });

    it('two 401s for the same token: one refresh; a late 401 for an old token: no refresh at all', async () => {
      const t0 = tokenExpiringAt(1_000_000);
      const t1 = tokenExpiringAt(2_000_000, 1);
      const { src, answer } = source(t0);
      const tm = createTokenManager(src, { now: () => 0, refreshAhead: false });
      const a = tm.forceRefresh(t0);
      const b = tm.forceRefresh(t0);
      await flush();
      await answer(t1);
      await expect(Promise.all([a, b])).resolves.toEqual([t1, t1]);
      await expect(tm.forceRefresh(t0)).resolves.toBe(t1); // someone already refreshed
      expect(src.refreshes).toBe(1);
    });

    it('a failed refresh rejects every waiter with AuthError (cause kept) and the next call tries again', async () => {
      const t0 = tokenExpiringAt(1_000_000);
      const { src, fail, answer } = source(t0);
      const tm = createTokenManager(src, { now: () => 0, refreshAhead: false });
      const a = tm.forceRefresh(t0).catch((e: unknown) => e);
      const b = tm.forceRefresh(t0).catch((e: unknown) => e);
      await flush();
      const cause = new Error('invalid_grant');
      await fail(cause);
      await expect(a).resolves.toBeInstanceOf(AuthError);
      const err = await b;
      expect(err).toBeInstanceOf(AuthError);
      expect((err as AuthError).cause).toBe(cause);
      expect((err as AuthError).code).toBe('refresh_failed');

      const again = tm.forceRefresh(t0);
      await flush();
      expect(src.refreshes).toBe(2);
      await answer('t2');
      await expect(again).resolves.toBe('t2');
    });

    it('passes a SyncError from the refresh through (e.g. offline)', async () => {
      const { src, fail } = source('t');
      const tm = createTokenManager(src, { now: () => 0, refreshAhead: false });
      const p = tm.forceRefresh('t').catch((e: unknown) => e);
      await flush();
      const offline = new NetworkError();
      await fail(offline);
      await expect(p).resolves.toBe(offline);
    });

    it('a refreshToken that throws synchronously rejects, and does not wedge later refreshes', async () => {
      let calls = 0;
      const tm = createTokenManager(
        {
          getToken: () => 't',
          refreshToken: () => {
            calls += 1;
            if (calls === 1) throw new Error('sync throw');
            return Promise.resolve('t2');
          },
        },
        { now: () => 0, refreshAhead: false },
      );
      await expect(tm.forceRefresh('t')).rejects.toBeInstanceOf(AuthError);
      await expect(tm.forceRefresh('t')).resolves.toBe('t2');
    });

    it('token() and refresh(rejected) are the Observable faces (the pipeline AuthPort)', async () => {
      const t0 = tokenExpiringAt(1_000_000);
      const { src, answer } = source(t0);
      const tm = createTokenManager(src, { now: () => 0, refreshAhead: false });
      await expect(firstValueFrom(tm.token())).resolves.toBe(t0);
      expect(src.refreshes).toBe(0); // cold: nothing until subscribed
      const refresh$ = tm.refresh(t0);
      expect(src.refreshes).toBe(0);
      const p = firstValueFrom(refresh$);
      await flush();
      await answer('t1');
      await expect(p).resolves.toBe('t1');
    });

    it('an empty refreshed token is an AuthError', async () => {
      const { src, answer } = source('t');
      const tm = createTokenManager(src, { now: () => 0, refreshAhead: false });
      const p = tm.forceRefresh('t').catch((e: unknown) => e);
      await flush();
      await answer('');
      await expect(p).resolves.toMatchObject({ kind: 'auth', code: 'refresh_empty' });
    });
  });

  it('keeps the refreshed token when the source does not store it, until the source changes', async () => {
    const t0 = tokenExpiringAt(100_000);
    const t1 = tokenExpiringAt(200_000, 1);
    let stored = t0;
    const tm = createTokenManager(
      { getToken: () => stored, refreshToken: () => Promise.resolve(t1) },
      { now: () => 0, refreshAhead: false },
    );
    await expect(tm.forceRefresh(t0)).resolves.toBe(t1);
    await expect(tm.getToken()).resolves.toBe(t1); // source still says t0
    stored = 'signed-in-again';
    await expect(tm.getToken()).resolves.toBe('signed-in-again');
  });

  describe('background refresh on the injected scheduler', () => {
    it('refreshes at exp − skew while tokens are being used, then stops for an idle app', async () => {
      const scheduler = new VirtualTimeScheduler();
      const t0 = tokenExpiringAt(100_000);
      const t1 = tokenExpiringAt(200_000, 1);
      const { src, answer } = source(t0);
      const tm = createTokenManager(src, { scheduler, skewMs: 30_000 });

      await tm.getToken(); // arms the timer for 70 000
      scheduler.maxFrames = 69_999;
      scheduler.flush();
      await flush();
      expect(src.refreshes).toBe(0);
      scheduler.maxFrames = Infinity;
      scheduler.flush();
      expect(scheduler.now()).toBe(70_000);
      await flush();
      expect(src.refreshes).toBe(1);
      await answer(t1); // re-arms for 170 000, but nobody asked for a token since

      scheduler.flush();
      expect(scheduler.now()).toBe(170_000);
      await flush();
      expect(src.refreshes).toBe(1); // idle: the background refresh was skipped

      // the next send still gets a fresh token, through the on-demand check
      const t2 = tokenExpiringAt(300_000, 2);
      const next = tm.getToken();
      await flush();
      expect(src.refreshes).toBe(2);
      await answer(t2);
      await expect(next).resolves.toBe(t2);
      tm.dispose();
    });

    it('a token valid for years waits in ≤ 2^31−1 ms steps (no timer overflow firing at once)', async () => {
      const scheduler = new VirtualTimeScheduler();
      const fiveYears = 5 * 365 * 24 * 3_600_000;
      const { src, answer } = source(tokenExpiringAt(fiveYears));
      const delays: number[] = [];
      const schedule = scheduler.schedule.bind(scheduler);
      scheduler.schedule = ((work: () => void, delay?: number) => {
        delays.push(delay ?? 0);
        return schedule(work, delay);
      }) as typeof scheduler.schedule;
      const tm = createTokenManager(src, { scheduler, skewMs: 30_000 });
      await tm.getToken();
      scheduler.flush();
      await flush();
      expect(delays.every((d) => d <= 2_147_483_647)).toBe(true);
      expect(delays.length).toBeGreaterThan(70); // ~5 years / 24.8 days
      expect(scheduler.now()).toBe(fiveYears - 30_000);
      expect(src.refreshes).toBe(1);
      await answer(tokenExpiringAt(2 * fiveYears, 1));
      tm.dispose();
    });

    it('dispose cancels the timer', async () => {
      const scheduler = new VirtualTimeScheduler();
      const { src } = source(tokenExpiringAt(100_000));
      const tm = createTokenManager(src, { scheduler, skewMs: 30_000 });
      await tm.getToken();
      tm.dispose();
      scheduler.flush();
      await flush();
      expect(src.refreshes).toBe(0);
    });
  });

  describe('callbacks that never settle (timeoutMs, on the injected scheduler)', () => {
    const never = <T>(): Promise<T> => new Promise<T>(() => undefined);
    /** Where a promise stands, without awaiting it (a pending one would hang the test). */
    const track = <T>(p: Promise<T>) => {
      const s: { value?: T; error?: unknown; settled: boolean } = { settled: false };
      p.then(
        (value) => Object.assign(s, { value, settled: true }),
        (error: unknown) => Object.assign(s, { error, settled: true }),
      );
      return s;
    };

    it('a refreshToken() that never settles fails every waiter at timeoutMs (default 30 s) with refresh_timeout, and clears the single flight', async () => {
      expect(TOKEN_MANAGER_DEFAULTS.timeoutMs).toBe(30_000);
      const scheduler = new VirtualTimeScheduler();
      let late!: (token: string) => void;
      let calls = 0;
      const tm = createTokenManager(
        {
          getToken: () => 't0',
          refreshToken: () => {
            calls += 1;
            return calls === 1 ? new Promise<string>((resolve) => (late = resolve)) : Promise.resolve('t2');
          },
        },
        { scheduler, refreshAhead: false },
      );
      const refreshed: number[] = [];
      tm.refreshed$.subscribe(() => refreshed.push(scheduler.now()));
      const forced = track(tm.forceRefresh('t0'));
      await flush();
      const joined = track(tm.getToken()); // joins the refresh in flight
      await flush();

      scheduler.maxFrames = 29_999;
      scheduler.flush();
      await flush();
      expect([forced.settled, joined.settled]).toEqual([false, false]);

      scheduler.maxFrames = Infinity;
      scheduler.flush();
      await flush();
      expect(scheduler.now()).toBe(30_000);
      expect(forced.error).toBeInstanceOf(AuthError);
      expect(forced.error).toMatchObject({ kind: 'auth', code: 'refresh_timeout' });
      expect(joined.error).toBe(forced.error);

      // No stale refresh survives: the next caller starts a new one…
      await expect(tm.getToken()).resolves.toBe('t0');
      await expect(tm.forceRefresh('t0')).resolves.toBe('t2');
      expect(calls).toBe(2);
      // …and the abandoned one's late answer is ignored.
      late('t1-late');
      await flush();
      await expect(tm.getToken()).resolves.toBe('t2');
      expect(refreshed).toEqual([30_000]);
      tm.dispose();
    });

    it('a getToken() that never settles fails at timeoutMs with TimeoutError(token_timeout); the next call reads again', async () => {
      const scheduler = new VirtualTimeScheduler();
      let calls = 0;
      const tm = createTokenManager(
        { getToken: () => (++calls === 1 ? never<string>() : Promise.resolve('t1')), refreshToken: never },
        { scheduler, timeoutMs: 5_000, refreshAhead: false },
      );
      const first = track(tm.getToken());
      await flush();
      scheduler.flush();
      await flush();
      expect(scheduler.now()).toBe(5_000);
      expect(first.error).toBeInstanceOf(TimeoutError);
      expect(first.error).toMatchObject({ kind: 'timeout', code: 'token_timeout' });
      await expect(tm.getToken()).resolves.toBe('t1');
      expect(scheduler.actions).toHaveLength(0); // a settled call leaves no timer behind
      tm.dispose();
    });

    it('dispose() fails the calls still waiting at once and leaves no timer behind', async () => {
      const scheduler = new VirtualTimeScheduler();
      let reads = 0;
      const tm = createTokenManager(
        { getToken: () => (++reads === 1 ? never<string>() : 't'), refreshToken: never },
        { scheduler, refreshAhead: false },
      );
      const reading = track(tm.getToken());
      await flush();
      const refreshing = track(tm.forceRefresh(null));
      await flush();
      expect(scheduler.actions).toHaveLength(2);
      tm.dispose();
      await flush();
      expect(scheduler.actions).toHaveLength(0);
      expect(reading.error).toMatchObject({ code: 'token_timeout' });
      expect(refreshing.error).toMatchObject({ code: 'refresh_timeout' });
    });

    it('a synchronous getToken() arms no timer', async () => {
      const scheduler = new VirtualTimeScheduler();
      const tm = createTokenManager({ getToken: () => 'opaque', refreshToken: never }, { scheduler, refreshAhead: false });
      await expect(tm.getToken()).resolves.toBe('opaque');
      expect(scheduler.actions).toHaveLength(0);
    });

    it.each([0, -1, NaN, Infinity, 2 ** 31, '100' as unknown as number])('refuses timeoutMs %p', (timeoutMs) => {
      expect(() => createTokenManager({ getToken: () => null, refreshToken: never }, { timeoutMs })).toThrow(ValidationError);
    });
  });

  describe('forget (the account changed)', () => {
    it("a refresh in flight for the previous account is never handed to the next one's callers", async () => {
      const a0 = tokenExpiringAt(1_000_000);
      const a1 = tokenExpiringAt(2_000_000, 1);
      const b0 = tokenExpiringAt(3_000_000, 2);
      const { src, answer } = source(a0);
      const refreshed: number[] = [];
      const tm = createTokenManager(src, { now: () => 0, refreshAhead: false });
      tm.refreshed$.subscribe(() => refreshed.push(1));
      const forA = tm.forceRefresh(a0); // A's 401
      await flush();
      expect(src.refreshes).toBe(1);
      // A signs out, B signs in: the app's source now holds B's token.
      tm.forget();
      (src as { getToken: () => string | null }).getToken = () => b0;
      await expect(tm.getToken()).resolves.toBe(b0);
      const aFails = expect(forA).rejects.toMatchObject({ code: 'account_changed' });
      await answer(a1); // A's refresh answers late
      await aFails;
      expect(refreshed).toEqual([]);
      await expect(tm.getToken()).resolves.toBe(b0);
    });

    it("a token read for the previous account that lands after forget() is neither handed out nor refreshed", async () => {
      const expiring = tokenExpiringAt(10_000); // within the skew: would be refreshed
      const { src } = source(expiring);
      const tm = createTokenManager(src, { now: () => 0, refreshAhead: false });
      const read = tm.getToken();
      tm.forget();
      await expect(read).rejects.toBeInstanceOf(AuthError);
      await expect(read).rejects.toMatchObject({ code: 'account_changed' });
      expect(src.refreshes).toBe(0);
    });
  });
});
