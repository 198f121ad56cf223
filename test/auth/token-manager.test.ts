import { VirtualTimeScheduler, firstValueFrom } from 'rxjs';
import { TOKEN_MANAGER_DEFAULTS, createTokenManager, type TokenSource } from '../../src/auth/token-manager';
import { AuthError, NetworkError, TimeoutError, ValidationError } from '../../src/errors/sync-error';
import { fakeJwt } from '../observability/fixtures';

/**
 * The Promise edge of the token manager: the app's callbacks come in as
 * Promises (or plain values) and `getToken`/`forceRefresh` answer with
 * Promises. The behaviour itself is specified with marbles in
 * token-refresher.test.ts; these tests only await the Promises they check.
 */
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

const never = <T>(): Promise<T> => new Promise<T>(() => undefined);

const flush = () => new Promise((r) => setImmediate(r));

/** A token source whose refresh is controlled by the test; it persists refreshed tokens (the forget tests). */
function source(initial: string | null) {
  let stored = initial;
  const pending: Array<ReturnType<typeof deferred<string>>> = [];
  const src: TokenSource & { refreshes: number } = {
    refreshes: 0,
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
  return { src, answer };
}

describe('createTokenManager (the Promise edge)', () => {
  it('answers with the source\'s Promise or plain value, and shares one refresh between concurrent callers', async () => {
    const t0 = tokenExpiringAt(100_000);
    const t1 = tokenExpiringAt(200_000, 1);
    let stored = t0;
    const refresh = deferred<string>();
    let refreshes = 0;
    const tm = createTokenManager(
      {
        getToken: () => Promise.resolve(stored),
        refreshToken: () => {
          refreshes += 1;
          return refresh.promise.then((t) => (stored = t));
        },
      },
      { now: () => 70_000, skewMs: 30_000, refreshAhead: false },
    );
    const callers = [tm.getToken(), tm.getToken(), tm.forceRefresh(t0)];
    refresh.resolve(t1);
    await expect(Promise.all(callers)).resolves.toEqual([t1, t1, t1]);
    expect(refreshes).toBe(1);
    await expect(tm.getToken()).resolves.toBe(t1);
    expect(refreshes).toBe(1);
  });

  it('a rejected refresh rejects with AuthError (cause kept); a SyncError passes through', async () => {
    const cause = new Error('invalid_grant');
    const offline = new NetworkError();
    const failures: unknown[] = [cause, offline];
    const tm = createTokenManager({ getToken: () => 't', refreshToken: () => Promise.reject(failures.shift()) }, { refreshAhead: false });
    const err = await tm.forceRefresh('t').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthError);
    expect(err).toMatchObject({ code: 'refresh_failed', cause });
    await expect(tm.forceRefresh('t')).rejects.toBe(offline);
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

  it('token() and refresh(rejected) are the Observable faces (the pipeline AuthPort), cold', async () => {
    const t0 = tokenExpiringAt(1_000_000);
    let reads = 0;
    let refreshes = 0;
    const tm = createTokenManager(
      {
        getToken: () => {
          reads += 1;
          return t0;
        },
        refreshToken: () => {
          refreshes += 1;
          return Promise.resolve('t1');
        },
      },
      { now: () => 0, refreshAhead: false },
    );
    const token$ = tm.token();
    const refresh$ = tm.refresh(t0);
    expect([reads, refreshes]).toEqual([0, 0]);
    await expect(firstValueFrom(token$)).resolves.toBe(t0);
    await expect(firstValueFrom(refresh$)).resolves.toBe('t1');
    expect([reads, refreshes]).toEqual([2, 1]);
  });

  it('a refreshToken() Promise that never settles fails at timeoutMs (default 30 s) with refresh_timeout; its late answer is ignored', async () => {
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
    const forced = tm.forceRefresh('t0');
    scheduler.flush();
    expect(scheduler.now()).toBe(30_000);
    await expect(forced).rejects.toMatchObject({ kind: 'auth', code: 'refresh_timeout' });
    await expect(tm.forceRefresh('t0')).resolves.toBe('t2');
    late('t1-late');
    await expect(tm.getToken()).resolves.toBe('t2');
    expect(calls).toBe(2);
    tm.dispose();
  });

  it('a getToken() that never settles fails at timeoutMs with TimeoutError(token_timeout); the next call reads again', async () => {
    const scheduler = new VirtualTimeScheduler();
    let calls = 0;
    const tm = createTokenManager(
      { getToken: () => (++calls === 1 ? never<string>() : Promise.resolve('t1')), refreshToken: never },
      { scheduler, timeoutMs: 5_000, refreshAhead: false },
    );
    const first = tm.getToken();
    scheduler.flush();
    expect(scheduler.now()).toBe(5_000);
    await expect(first).rejects.toBeInstanceOf(TimeoutError);
    await expect(first).rejects.toMatchObject({ kind: 'timeout', code: 'token_timeout' });
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
    const reading = tm.getToken();
    const refreshing = tm.forceRefresh(null);
    expect(scheduler.actions).toHaveLength(2);
    tm.dispose();
    expect(scheduler.actions).toHaveLength(0);
    await expect(reading).rejects.toMatchObject({ code: 'token_timeout' });
    await expect(refreshing).rejects.toMatchObject({ code: 'refresh_timeout' });
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
      // The app's read is asynchronous (a keychain, an auth SDK): it lands after forget().
      const tm = createTokenManager({ getToken: async () => src.getToken(), refreshToken: () => src.refreshToken() }, { now: () => 0, refreshAhead: false });
      const read = tm.getToken();
      tm.forget();
      await expect(read).rejects.toBeInstanceOf(AuthError);
      await expect(read).rejects.toMatchObject({ code: 'account_changed' });
      expect(src.refreshes).toBe(0);
    });
  });
});
