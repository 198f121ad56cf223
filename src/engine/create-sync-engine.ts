import { asyncScheduler } from 'rxjs';
import { createApiClient } from '../api/api-client';
import { createTokenManager } from '../auth/token-manager';
import { ValidationError } from '../errors/sync-error';
import type { ProcessorLock } from '../lock/processor-lock';
import { createStorageLock } from '../lock/storage-lock';
import { attachLogger } from '../observability/attach-logger';
import { resolveBackoffPolicy } from '../policy/backoff';
import { createRateLimiter } from '../security/rate-limiter';
import { authPortFromTokenManager } from './auth-port';
import { createEngineCore, type SyncEngineHandle } from './engine-core';
import { platformConstraints$, platformOnline$ } from './platform-signals';
import { storePortFromOpStore } from './store-port';
import { SYNC_ENGINE_DEFAULTS, type SyncEngineOptions } from './sync-engine-options';

const isProcessorLock = (l: unknown): l is ProcessorLock =>
  typeof l === 'object' && l !== null && typeof (l as ProcessorLock).hold === 'function';

const positive = (name: string, v: number): number => {
  if (!(typeof v === 'number' && Number.isFinite(v) && v > 0)) {
    throw new ValidationError('invalidOptions', `${name}: expected a positive number`);
  }
  return v;
};

/**
 * Create the sync engine: a durable FIFO queue drained to a REST backend,
 * at least once, exactly once in effect through idempotency keys.
 * Throws `ValidationError('invalidOptions')` for bad options (an insecure
 * `baseUrl`, a bad backoff or lock timing…). Nothing runs until `start()`.
 *
 * @example
 * const engine = createSyncEngine({
 *   baseUrl: 'https://api.example.com',
 *   routes,
 *   store: await createOpStore({ name: 'app' }),
 *   auth: { getToken: () => session.token, refreshToken: () => session.refresh() },
 * });
 * engine.results$.subscribe((r) => (r.outcome === 'committed' ? commit(r) : rollback(r)));
 * engine.start();
 * await engine.enqueue({ type: 'todo.create', payload: { id: '1', title: 'Buy milk' } });
 */
export function createSyncEngine(options: SyncEngineOptions): SyncEngineHandle {
  if (typeof options !== 'object' || options === null) throw new ValidationError('invalidOptions', 'options: expected an object');
  if (!options.routes || typeof options.routes.validate !== 'function') {
    throw new ValidationError('invalidOptions', 'routes: expected an OpRouter (defineRoutes)');
  }
  if (!options.store || typeof options.store.peek !== 'function') {
    throw new ValidationError('invalidOptions', 'store: expected an OpStore (createOpStore)');
  }
  if (!options.auth || typeof options.auth.getToken !== 'function' || typeof options.auth.refreshToken !== 'function') {
    throw new ValidationError('invalidOptions', 'auth: expected { getToken, refreshToken }');
  }
  const scheduler = options.scheduler ?? asyncScheduler;
  const now = options.now ?? (() => scheduler.now());
  // The documented default of an injectable; engine code only calls `random`.
  const random = options.random ?? Math.random;
  const store = storePortFromOpStore(options.store);
  const api = createApiClient({
    baseUrl: options.baseUrl,
    fetch: options.fetch,
    transport: options.transport,
    requestTimeoutMs: options.requestTimeoutMs ?? SYNC_ENGINE_DEFAULTS.requestTimeoutMs,
    scheduler,
    now,
  });
  const tokens = createTokenManager(options.auth, {
    scheduler,
    now,
    skewMs: options.tokenRefreshSkewMs ?? SYNC_ENGINE_DEFAULTS.tokenRefreshSkewMs,
    logger: options.logger,
  });
  const lock = isProcessorLock(options.lock) ? options.lock : createStorageLock(store, { ...options.lock, scheduler, now });
  const engine = createEngineCore({
    store,
    api,
    auth: authPortFromTokenManager(tokens),
    router: options.routes,
    lock,
    online$: options.online$ ?? platformOnline$(),
    constraints$: options.constraints$ ?? platformConstraints$(),
    scheduler,
    now,
    random,
    backoff: resolveBackoffPolicy(options.backoff),
    batchSize: Math.floor(positive('batchSize', options.batchSize ?? SYNC_ENGINE_DEFAULTS.batchSize)),
    powerSavingBackoffFactor: positive(
      'powerSavingBackoffFactor',
      options.powerSavingBackoffFactor ?? SYNC_ENGINE_DEFAULTS.powerSavingBackoffFactor,
    ),
    storageRetryMs: positive('storageRetryMs', options.storageRetryMs ?? SYNC_ENGINE_DEFAULTS.storageRetryMs),
    reconcile: options.reconcile,
    requestHeaders: options.requestHeaders,
    rateLimiter: options.rateLimit === false ? undefined : createRateLimiter(options.rateLimit ?? {}, scheduler),
    payloadLimits: options.payloadLimits,
  });
  if (options.logger) attachLogger(engine.events$, options.logger);
  const dispose = engine.dispose.bind(engine);
  return Object.assign(engine, {
    dispose: async () => {
      await dispose();
      tokens.dispose();
    },
  });
}
