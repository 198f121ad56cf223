import { VirtualTimeScheduler } from 'rxjs';
import { createTokenManager, type TokenManager, type TokenSource } from '../../src/auth/token-manager';
import { NO_CREDENTIALS, anonymousAuthPort, authPortFromTokenManager } from '../../src/engine/auth-port';
import type { EngineEvent } from '../../src/engine/sync-engine';
import { EngineHarness } from '../support/engine-harness';
import { fail, ok } from '../support/scripted-transport';
import { runUntil } from '../support/virtual-time';

// The engine with the real token manager over an app token source whose
// callbacks may never settle, in virtual time (`runUntil` lets the token
// manager's Promises run between timers). The storage lock is acquired at
// t=50; every scripted answer takes 10 ms; the default auth timeout is 30 s.

const never = <T>(): Promise<T> => new Promise<T>(() => undefined);

/** An app token source: `token` is what `getToken` reads; `hangGetToken`/`hangRefresh` make the next calls never settle. */
class AppAuth implements TokenSource {
  token = 'token-1';
  hangGetToken = 0;
  hangRefresh = 0;
  getTokenCalls = 0;
  refreshCalls = 0;

  getToken(): Promise<string> {
    this.getTokenCalls += 1;
    if (this.hangGetToken > 0) {
      this.hangGetToken -= 1;
      return never();
    }
    return Promise.resolve(this.token);
  }

  refreshToken(): Promise<string> {
    this.refreshCalls += 1;
    if (this.hangRefresh > 0) {
      this.hangRefresh -= 1;
      return never();
    }
    return Promise.reject(new Error('invalid_grant'));
  }
}

function setup(): { scheduler: VirtualTimeScheduler; app: AppAuth; tokens: TokenManager; h: EngineHarness } {
  const scheduler = new VirtualTimeScheduler();
  const app = new AppAuth();
  const tokens = createTokenManager(app, { scheduler, refreshAhead: false });
  const h = new EngineHarness(scheduler, { auth: authPortFromTokenManager(tokens) });
  return { scheduler, app, tokens, h };
}

const authHeaders = (h: EngineHarness) => h.server.requests.map((r) => r.request.headers.Authorization);
const completedAttempts = (h: EngineHarness) =>
  h.events.filter((e): e is Extract<EngineEvent, { type: 'completed' }> => e.type === 'completed').map((e) => e.op.attempts);

describe('auth callbacks that never settle (engine, virtual time)', () => {
  test('a refreshToken() that never settles → authRequired at the timeout, with its reason; resumeAuth() sends again, no attempt spent', async () => {
    const { scheduler, app, tokens, h } = setup();
    app.hangRefresh = 1;
    h.server.script(fail(401), ok());
    h.enqueue('a');
    h.engine.start();

    await runUntil(scheduler, 29_000);
    expect(app.refreshCalls).toBe(1); // the 401 at t=60 asked for a refresh that is still pending

    await runUntil(scheduler, 31_000);
    expect(h.status).toMatchObject({
      authRequired: true,
      processing: false,
      blockedBy: ['authRequired'],
      pending: 1,
      lastError: { kind: 'auth', code: 'refresh_timeout' },
    });
    expect(h.eventTypes('authRequired')).toEqual(['authRequired']);
    expect(h.results).toEqual([]);

    app.token = 'token-2'; // the user signed in again
    h.engine.resumeAuth();
    await runUntil(scheduler, 32_000);
    expect(authHeaders(h)).toEqual(['Bearer token-1', 'Bearer token-2']);
    expect(h.results.map((r) => r.outcome)).toEqual(['committed']);
    expect(completedAttempts(h)).toEqual([0]);
    expect(h.store.data.failed.size).toBe(0);
    expect(h.status).toMatchObject({ authRequired: false, processing: true, pending: 0 });
    expect(h.status.lastError).toBeUndefined();

    await h.engine.dispose();
    tokens.dispose();
  });

  test('stop()/start() while the refresh hangs: the new run does not wait forever on the stale refresh', async () => {
    const { scheduler, app, tokens, h } = setup();
    app.hangRefresh = 1;
    h.server.script(fail(401), ok());
    h.enqueue('a');
    h.engine.start();
    await runUntil(scheduler, 1_000);
    void h.engine.stop();
    await runUntil(scheduler, 2_000);
    h.engine.start();

    // The restarted drain joined the pending refresh; it fails at its deadline (t=30 060).
    await runUntil(scheduler, 31_000);
    expect(h.status).toMatchObject({ authRequired: true, blockedBy: ['authRequired'], lastError: { kind: 'auth', code: 'refresh_timeout' } });

    app.token = 'token-2';
    h.engine.resumeAuth();
    await runUntil(scheduler, 32_000);
    expect(h.results.map((r) => r.outcome)).toEqual(['committed']);
    expect(completedAttempts(h)).toEqual([0]);
    expect(app.refreshCalls).toBe(1);

    await h.engine.dispose();
    tokens.dispose();
  });

  test('a refresh that failed (or timed out) leaves no stale single flight: the next 401 refreshes again', async () => {
    const { scheduler, app, tokens, h } = setup();
    app.hangRefresh = 1;
    h.server.script(fail(401), fail(401), ok());
    h.enqueue('a');
    h.engine.start();
    await runUntil(scheduler, 31_000);
    expect(h.status.authRequired).toBe(true);

    h.engine.resumeAuth(); // same token: 401 again → a new refresh (rejected: invalid_grant)
    await runUntil(scheduler, 32_000);
    expect(app.refreshCalls).toBe(2);
    expect(h.status).toMatchObject({ authRequired: true, lastError: { kind: 'auth', code: 'refresh_failed' } });
    expect(h.store.pendingOps()).toHaveLength(1);

    await h.engine.dispose();
    tokens.dispose();
  });

  test('a getToken() that never settles fails at the timeout as a transient error (status shows it), then the op is sent', async () => {
    const { scheduler, app, tokens, h } = setup();
    app.hangGetToken = 1;
    h.enqueue('a');
    h.engine.start();

    await runUntil(scheduler, 30_100);
    expect(h.server.requests).toHaveLength(0);
    // Timed out at t=30 050; backoff 500 ms (random 0.5), attempt not consumed.
    expect(h.status).toMatchObject({ authRequired: false, nextAttemptAt: 30_550, lastError: { kind: 'timeout', code: 'token_timeout' } });

    await runUntil(scheduler, 31_000);
    expect(h.server.requests.map((r) => r.sentAt)).toEqual([30_550]);
    expect(h.results.map((r) => r.outcome)).toEqual(['committed']);
    expect(completedAttempts(h)).toEqual([0]);
    expect(app.getTokenCalls).toBe(2);

    await h.engine.dispose();
    tokens.dispose();
  });
});

describe('no auth (engine, virtual time)', () => {
  test('requests carry no Authorization header and commit', async () => {
    const scheduler = new VirtualTimeScheduler();
    const h = new EngineHarness(scheduler, { auth: anonymousAuthPort() });
    h.enqueue('a');
    h.enqueue('b');
    h.engine.start();
    await runUntil(scheduler, 1_000);
    expect(h.server.requests).toHaveLength(2);
    for (const r of h.server.requests) expect(Object.keys(r.request.headers).map((k) => k.toLowerCase())).not.toContain('authorization');
    expect(h.results.map((r) => r.outcome)).toEqual(['committed', 'committed']);
    expect(h.status).toMatchObject({ authRequired: false, pending: 0 });
    await h.engine.dispose();
  });

  test('a 401 → authRequired with the reason (no_credentials), the op pending with no attempt spent; resumeAuth() sends it again', async () => {
    const scheduler = new VirtualTimeScheduler();
    const h = new EngineHarness(scheduler, { auth: anonymousAuthPort() });
    h.server.script(fail(401, { code: 'token_missing' }), ok());
    h.enqueue('a');
    h.engine.start();
    await runUntil(scheduler, 1_000);
    expect(h.server.requests).toHaveLength(1);
    expect(h.status).toMatchObject({
      authRequired: true,
      blockedBy: ['authRequired'],
      pending: 1,
      lastError: { kind: 'auth', status: 401, code: NO_CREDENTIALS },
    });
    expect(h.results).toEqual([]);
    expect(h.store.pendingOps()).toMatchObject([{ attempts: 0 }]);

    h.engine.resumeAuth(); // e.g. the server's auth was switched off again
    await runUntil(scheduler, 2_000);
    expect(h.results.map((r) => r.outcome)).toEqual(['committed']);
    expect(completedAttempts(h)).toEqual([0]);
    await h.engine.dispose();
  });
});
