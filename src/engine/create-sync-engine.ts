import { asyncScheduler, isObservable, map, type Observable } from 'rxjs';
import { createApiClient } from '../api/api-client';
import { createTokenManager } from '../auth/token-manager';
import { ValidationError } from '../errors/sync-error';
import type { ProcessorLock } from '../lock/processor-lock';
import { createStorageLock } from '../lock/storage-lock';
import { attachObservability, type Observability } from '../observability/attach-observability';
import type { MetricsSnapshot } from '../observability/metrics';
import { resolveBackoffPolicy } from '../policy/backoff';
import { timerOptionMs } from '../policy/timer-option';
import { createRateLimiter } from '../security/rate-limiter';
import { authPortFromTokenManager } from './auth-port';
import { taskScheduler } from './task-scheduler';
import { createEngineCore, type SyncEngineHandle } from './engine-core';
import { platformConstraints$, platformOnline$ } from './platform-signals';
import { storePortFromOpStore } from './store-port';
import { SYNC_ENGINE_DEFAULTS, type SyncEngineOptions } from './sync-engine-options';

/** What `createSyncEngine` returns: the engine, its controls and its metrics. */
export interface SyncEngineInstance extends SyncEngineHandle {
  /**
   * The spec's metrics (`sync.pending_ops.count`, `sync.retries.count`, …):
   * a snapshot now, then on every event and every `metricsSampleIntervalMs`.
   * The same values feed the OpenTelemetry instruments of the app's
   * MeterProvider.
   */
  readonly metrics$: Observable<MetricsSnapshot>;
}

/** Pending ops read (decrypted, decoded) per task while seeding the age metrics at start-up. */
const SEED_PAGE = 50;

const isProcessorLock = (l: unknown): l is ProcessorLock =>
  typeof l === 'object' && l !== null && typeof (l as ProcessorLock).hold === 'function';

const positive = (name: string, v: number): number => {
  if (!(typeof v === 'number' && Number.isFinite(v) && v > 0)) {
    throw new ValidationError('invalidOptions', `${name}: expected a positive number`);
  }
  return v;
};

// A multiplier below 1 would shorten waits, and with them a server's
// Retry-After; above 1 anything finite is honoured (boundedWaitMs clamps the
// stretched wait to the policy maximum).
const stretchFactor = (name: string, v: number): number => {
  if (!(typeof v === 'number' && Number.isFinite(v) && v >= 1)) {
    throw new ValidationError('invalidOptions', `${name}: expected a finite number ≥ 1`);
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
export function createSyncEngine(options: SyncEngineOptions): SyncEngineInstance {
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
  if (options.account$ !== undefined && !isObservable(options.account$)) {
    throw new ValidationError('invalidOptions', 'account$: expected an Observable of the account id (string | null)');
  }
  const wake = options.wake;
  if (wake !== undefined && (typeof wake?.post !== 'function' || typeof wake.close !== 'function' || !isObservable(wake.wake$))) {
    throw new ValidationError('invalidOptions', 'wake: expected a WakePort { post, wake$, close }');
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
    maxResponseBytes: options.maxResponseBytes ?? SYNC_ENGINE_DEFAULTS.maxResponseBytes,
    scheduler,
    now,
  });
  const tokens = createTokenManager(options.auth, {
    scheduler,
    now,
    skewMs: options.tokenRefreshSkewMs ?? SYNC_ENGINE_DEFAULTS.tokenRefreshSkewMs,
    timeoutMs: positive('authTimeoutMs', options.authTimeoutMs ?? SYNC_ENGINE_DEFAULTS.authTimeoutMs),
    logger: options.logger,
  });
  const lock = isProcessorLock(options.lock) ? options.lock : createStorageLock(store, { ...options.lock, scheduler, now });
  let obs: Observability | undefined;
  const engine = createEngineCore({
    store,
    api,
    auth: authPortFromTokenManager(tokens),
    router: options.routes,
    lock,
    online$: options.online$ ?? platformOnline$(),
    constraints$: options.constraints$ ?? platformConstraints$(),
    account$: options.account$,
    scheduler,
    // Virtual time when a scheduler is given; else the next macrotask.
    commitScheduler: options.scheduler ?? taskScheduler(),
    now,
    random,
    backoff: resolveBackoffPolicy(options.backoff),
    batchSize: Math.floor(positive('batchSize', options.batchSize ?? SYNC_ENGINE_DEFAULTS.batchSize)),
    powerSavingBackoffFactor: stretchFactor(
      'powerSavingBackoffFactor',
      options.powerSavingBackoffFactor ?? SYNC_ENGINE_DEFAULTS.powerSavingBackoffFactor,
    ),
    storageRetryMs: timerOptionMs('storageRetryMs', options.storageRetryMs ?? SYNC_ENGINE_DEFAULTS.storageRetryMs),
    idlePollMs: timerOptionMs('idlePollMs', options.idlePollMs ?? SYNC_ENGINE_DEFAULTS.idlePollMs, { allowZero: true }),
    wake,
    reconcile: options.reconcile,
    // Trace context of the attempt (W3C traceparent when the app registered
    // a propagator), then the app's own headers. Called after attemptStarted.
    requestHeaders: (op) => {
      const traced = obs?.requestHeaders(op);
      const own = options.requestHeaders?.(op);
      return traced === undefined && own === undefined ? undefined : { ...traced, ...own };
    },
    rateLimiter: options.rateLimit === false ? undefined : createRateLimiter(options.rateLimit ?? {}, scheduler),
    payloadLimits: options.payloadLimits,
  });
  // Metrics, tracing and logging are independent subscribers of events$.
  obs = attachObservability(
    {
      events$: engine.events$,
      pendingCount$: engine.status$.pipe(map((s) => s.pending)),
      // Read page by page, each page in its own task (`pendingOps`): with
      // 200,000 ops queued the seed takes a while, but never holds the
      // event loop for more than a page, and the first request goes out
      // meanwhile. Ages are complete once it is done.
      initialPending: engine.pendingOps(SEED_PAGE),
    },
    {
      logger: options.logger,
      tracerProvider: options.tracerProvider,
      meterProvider: options.meterProvider,
      sampleIntervalMs:
        options.metricsSampleIntervalMs === undefined
          ? undefined
          : timerOptionMs('metricsSampleIntervalMs', options.metricsSampleIntervalMs),
      scheduler,
      now,
    },
  );
  const observability = obs;
  const disposeEngine = engine.dispose.bind(engine);
  let disposed: Promise<void> | undefined;
  return Object.assign(engine, {
    metrics$: observability.metrics.metrics$,
    dispose: () =>
      (disposed ??= disposeEngine().then(() => {
        observability.dispose();
        tokens.dispose();
      })),
  });
}
