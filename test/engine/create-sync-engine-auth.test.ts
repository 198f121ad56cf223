import { of } from 'rxjs';
import * as tokenManager from '../../src/auth/token-manager';
import { createSyncEngine } from '../../src/create-sync-engine';
import { SYNC_ENGINE_DEFAULTS } from '../../src/engine/sync-engine-options';
import type { OpStore } from '../../src/store/op-store';
import { testRoutes } from '../support/engine-harness';

jest.mock('../../src/auth/token-manager', () => {
  const actual = jest.requireActual<typeof tokenManager>('../../src/auth/token-manager');
  return { ...actual, createTokenManager: jest.fn(actual.createTokenManager) };
});

// Only the options are under test: the engine is never started.
const store = { peek: () => Promise.resolve([]), changes$: of(), counts: () => Promise.resolve({ pending: 0, failed: 0 }) } as unknown as OpStore;
const auth = { getToken: () => 't', refreshToken: () => Promise.resolve('t') };

describe('createSyncEngine: the auth callbacks are bounded', () => {
  afterEach(() => jest.mocked(tokenManager.createTokenManager).mockClear());

  test.each<[string, number | undefined, number]>([
    ['the documented default', undefined, SYNC_ENGINE_DEFAULTS.authTimeoutMs],
    ['authTimeoutMs', 2_500, 2_500],
  ])('the token manager gets %s as its timeoutMs', async (_name, authTimeoutMs, expected) => {
    const engine = createSyncEngine({
      baseUrl: 'https://api.example.com',
      routes: testRoutes,
      store,
      auth,
      authTimeoutMs,
      online$: of(true),
      constraints$: of({}),
    });
    expect(jest.mocked(tokenManager.createTokenManager).mock.calls[0]?.[1]).toMatchObject({ timeoutMs: expected });
    await engine.dispose();
  });
});

describe('createSyncEngine without auth', () => {
  afterEach(() => jest.mocked(tokenManager.createTokenManager).mockClear());

  test('makes no token manager (nothing is ever called for a token)', async () => {
    const engine = createSyncEngine({ baseUrl: 'https://api.example.com', routes: testRoutes, store, online$: of(true), constraints$: of({}) });
    expect(tokenManager.createTokenManager).not.toHaveBeenCalled();
    await engine.dispose();
  });
});
