import { asyncScheduler, isObservable, map, type Observable } from 'rxjs';
import { createApiClient } from './api/api-client';
import { assertExtraHeaders } from './api/request-headers';
import { createTokenManager } from './auth/token-manager';
import { ValidationError } from './errors/sync-error';
import type { ProcessorLock } from './lock/processor-lock';
import { createStorageLock } from './lock/storage-lock';
import { attachObservability, type Observability } from './observability/attach-observability';
import type { MetricsSnapshot } from './observability/metrics';
import { resolveBackoffPolicy } from './policy/backoff';
import type { RouteTable } from './router/route-types';
import { timerOptionMs } from './policy/timer-option';
import { createRateLimiter } from './security/rate-limiter';
import { withAsyncDispose } from './engine/async-dispose';
import { anonymousAuthPort, authPortFromTokenManager } from './engine/auth-port';
import { taskScheduler } from './engine/task-scheduler';
import { createEngineCore } from './engine/engine-core';
import { platformConstraints$, platformOnline$ } from './engine/platform-signals';
import { storePortFromOpStore } from './engine/store-port';
import type { EngineCore } from './engine/sync-engine';
import { SYNC_ENGINE_DEFAULTS, type SyncEngineOptions } from './engine/sync-engine-options';

// The symbol is declared here, as in @types/node and TypeScript's
// `esnext.disposable` lib (the declarations merge), so these types compile
// in a project that has neither.
declare global {
  interface SymbolConstructor {
    readonly asyncDispose: unique symbol;
  }
}

/**
 * The sync engine, as `createSyncEngine` returns it: typed by its route
 * table `R` (`SyncEngine` alone is the untyped engine every typed one is
 * assignable to), with its controls (`EngineCore`) and its metrics.
 */
export interface SyncEngine<R extends RouteTable = any> extends EngineCore<R> {
  /**
   * The spec's metrics (`sync.pending_ops.count`, `sync.retries.count`, …):
   * a snapshot now, then on every event and every `metricsSampleIntervalMs`.
   * The same values feed the OpenTelemetry instruments of the app's
   * MeterProvider.
   */
  readonly metrics$: Observable<MetricsSnapshot>;
  /**
   * `dispose()`, for `await using engine = createSyncEngine(…)`. Present
   * where the runtime defines `Symbol.asyncDispose` (Node ≥ 20, current
   * browsers) or a polyfill did before `createSyncEngine`. Like `dispose()`
   * it leaves the store open: the app closes it (`docs/pipeline.md`).
   *
   * @example
   * const store = await createOpStore({ name: 'app' });
   * {
   *   await using engine = createSyncEngine({ baseUrl, routes, store });
   *   engine.start();
   *   await work(engine);
   * } // engine disposed here
   * await store.close();
   */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Pending ops read (decrypted, decoded) per task while seeding the age
 * metrics at start-up. Small: the page's task shares its event-loop turn
 * with the drain's read-ahead, a commit and a ledger-prune page, and the
 * sum is what holds the thread (docs/performance.md, start-up). Internal
 * (exported for its test only).
 */
export const SEED_PAGE = 10;

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
 * `baseUrl`, a bad backoff or lock timing, a malformed `requestHeaders`
 * object…). Nothing runs until `start()`. The store stays the app's:
 * `dispose()` (or `await using`) stops the engine, the app closes the store.
 * The engine is typed by the route table of `routes` (`defineRoutes`):
 * `enqueue` accepts only its types with their payloads, `results$` entries
 * narrow by `type` to the route's decoded response.
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
export function createSyncEngine<R extends RouteTable>(options: SyncEngineOptions<R>): SyncEngine<R>;
// Last, so `ReturnType<typeof createSyncEngine>` / `Parameters<…>` name the
// untyped engine, to which every typed one is assignable.
export function createSyncEngine(options: SyncEngineOptions): SyncEngine;
export function createSyncEngine(options: SyncEngineOptions): SyncEngine {
  if (typeof options !== 'object' || options === null) throw new ValidationError('invalidOptions', 'options: expected an object');
  if (!options.routes || typeof options.routes.validate !== 'function') {
    throw new ValidationError('invalidOptions', 'routes: expected an OpRouter (defineRoutes)');
  }
  if (!options.store || typeof options.store.peek !== 'function') {
    throw new ValidationError('invalidOptions', 'store: expected an OpStore (createOpStore)');
  }
  const source = options.auth;
  if (source !== undefined && (typeof source?.getToken !== 'function' || typeof source.refreshToken !== 'function')) {
    throw new ValidationError('invalidOptions', 'auth: expected { getToken, refreshToken }, or no auth');
  }
  const ownHeaders = options.requestHeaders;
  if (ownHeaders !== undefined && typeof ownHeaders !== 'function') assertExtraHeaders(ownHeaders);
  const wake = options.wake;
  if (wake !== undefined && (typeof wake?.post !== 'function' || typeof wake.close !== 'function' || !isObservable(wake.wake$))) {
    throw new ValidationError('invalidOptions', 'wake: expected a WakePort { post, wake$, close }');
  }
  if (options.serverWake !== undefined && !isObservable(options.serverWake?.ready$)) {
    throw new ValidationError('invalidOptions', 'serverWake: expected a ServerWake { ready$ }');
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
  const authTimeoutMs = positive('authTimeoutMs', options.authTimeoutMs ?? SYNC_ENGINE_DEFAULTS.authTimeoutMs);
  const tokens =
    source === undefined
      ? undefined
      : createTokenManager(source, {
          scheduler,
          now,
          skewMs: options.tokenRefreshSkewMs ?? SYNC_ENGINE_DEFAULTS.tokenRefreshSkewMs,
          timeoutMs: authTimeoutMs,
          logger: options.logger,
        });
  const lock = isProcessorLock(options.lock) ? options.lock : createStorageLock(store, { ...options.lock, scheduler, now });
  let obs: Observability | undefined;
  const engine = createEngineCore({
    store,
    api,
    auth: tokens === undefined ? anonymousAuthPort() : authPortFromTokenManager(tokens),
    router: options.routes,
    lock,
    online$: options.online$ ?? platformOnline$(),
    constraints$: options.constraints$ ?? platformConstraints$(),
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
    serverWake: options.serverWake,
    reconcile: options.reconcile,
    // Trace context of the attempt (W3C traceparent when the app registered
    // a propagator), then the app's own headers; the API client drops any of
    // the engine's own. Called after attemptStarted.
    requestHeaders: (op) => {
      const traced = obs?.requestHeaders(op);
      const own = typeof ownHeaders === 'function' ? ownHeaders(op) : ownHeaders;
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
  // The store is the app's: dispose() never closes it (docs/pipeline.md).
  return withAsyncDispose(
    Object.assign(engine, {
      metrics$: observability.metrics.metrics$,
      dispose: () =>
        (disposed ??= disposeEngine().then(() => {
          observability.dispose();
          tokens?.dispose();
        })),
    }),
  ) as SyncEngine;
}
