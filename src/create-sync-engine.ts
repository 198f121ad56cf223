import { asyncScheduler, map, type Observable, type SchedulerLike } from 'rxjs';
import { createApiClient, type ApiClient } from './api/api-client';
import { createTokenManager, type TokenManager } from './auth/token-manager';
import { createDefaultLock } from './lock/default-lock';
import { guardMethods, type FencedLock } from './lock/fence';
import { attachObservability, type Observability } from './observability/attach-observability';
import type { MetricsSnapshot } from './observability/metrics';
import { resolveBackoffPolicy } from './policy/backoff';
import type { RouteTable } from './router/route-types';
import { timerOptionMs } from './policy/timer-option';
import { createRateLimiter } from './security/rate-limiter';
import { withAsyncDispose } from './engine/async-dispose';
import { assertOptionShapes, isProcessorLock, positive, stretchFactor, throughputOptions } from './engine/check-options';
import { anonymousAuthPort, authPortFromTokenManager } from './engine/auth-port';
import { taskScheduler } from './engine/task-scheduler';
import { createEngineCore } from './engine/engine-core';
import type { EngineDeps } from './engine/engine-deps';
import type { PendingOp } from './op/pending-op';
import type { ProcessorLock } from './lock/processor-lock';
import { platformConstraints$, platformOnline$, platformSuspended$ } from './engine/platform-signals';
import { storePortFromOpStore } from './engine/store-port';
import { broadcastChannelCrossTab, crossTabWake, isBrowser } from './engine/cross-tab-port';
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
  assertOptionShapes(options);
  const scheduler = options.scheduler ?? asyncScheduler;
  const now = options.now ?? (() => scheduler.now());
  const tokens = tokenManagerFor(options, scheduler, now);
  let obs: Observability | undefined;
  const engine = createEngineCore(coreDeps(options, tokens, scheduler, now, (op) => obs?.requestHeaders(op)));
  const observability = (obs = observe(engine, options, scheduler, now));
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

/** The app's `auth` behind a single-flight, time-bounded token manager; none without `auth`. */
function tokenManagerFor(options: SyncEngineOptions, scheduler: SchedulerLike, now: () => number): TokenManager | undefined {
  if (options.auth === undefined) return undefined;
  return createTokenManager(options.auth, {
    scheduler,
    now,
    skewMs: options.tokenRefreshSkewMs ?? SYNC_ENGINE_DEFAULTS.tokenRefreshSkewMs,
    timeoutMs: positive('authTimeoutMs', options.authTimeoutMs ?? SYNC_ENGINE_DEFAULTS.authTimeoutMs),
    logger: options.logger,
  });
}

/**
 * The store writes that settle or reschedule an op: only the lock holder
 * makes them, after a fence check — a commit may reuse a recent one (as a
 * send does, `guardCommit`), the others read it every time.
 */
const FENCED_COMMITS = ['complete', 'completeAll'] as const;
const FENCED_WRITES = ['fail', 'update', 'rewrite'] as const;

/**
 * The API client, each batch request after a fence check when the lock is
 * fenced. A single op's attempt is checked before it starts (`admit`), so a
 * refused one is not reported as an attempt either.
 */
const fencedSends = (fenced: FencedLock | undefined, api: ApiClient): ApiClient =>
  fenced === undefined ? api : guardMethods(api, ['sendBatch'], (send) => fenced.guardSend(send));

/** Every dependency of the engine core, each option resolved against its documented default and checked. */
function coreDeps(
  options: SyncEngineOptions,
  tokens: TokenManager | undefined,
  scheduler: SchedulerLike,
  now: () => number,
  tracedHeaders: (op: PendingOp) => Readonly<Record<string, string>> | undefined,
): EngineDeps {
  const port = storePortFromOpStore(options.store);
  // The app's own ProcessorLock is used as is; the default one is fenced:
  // every send and settlement write first checks its token in the store.
  const fenced: FencedLock | undefined = isProcessorLock(options.lock)
    ? undefined
    : createDefaultLock(port, { suspended$: platformSuspended$(), ...options.lock, scheduler, now });
  // `completeAll` is fenced only where the store has it.
  const fencedNames = [...FENCED_COMMITS, ...FENCED_WRITES].filter((name) => port[name] !== undefined);
  const isCommit = (name: string): boolean => (FENCED_COMMITS as readonly string[]).includes(name);
  const store =
    fenced === undefined ? port : guardMethods(port, fencedNames, (w, name) => (isCommit(name) ? fenced.guardCommit(w) : fenced.guardWrite(w)));
  const ownHeaders = options.requestHeaders;
  return {
    store,
    api: fencedSends(fenced, createApiClient({
      baseUrl: options.baseUrl,
      fetch: options.fetch,
      transport: options.transport,
      requestTimeoutMs: options.requestTimeoutMs ?? SYNC_ENGINE_DEFAULTS.requestTimeoutMs,
      maxResponseBytes: options.maxResponseBytes ?? SYNC_ENGINE_DEFAULTS.maxResponseBytes,
      scheduler,
      now,
    })),
    auth: tokens === undefined ? anonymousAuthPort() : authPortFromTokenManager(tokens),
    router: options.routes,
    lock: fenced?.lock ?? (options.lock as ProcessorLock),
    online$: options.online$ ?? platformOnline$(),
    constraints$: options.constraints$ ?? platformConstraints$(),
    account$: options.account$,
    scheduler,
    // Virtual time when a scheduler is given; else the next macrotask.
    commitScheduler: options.scheduler ?? taskScheduler(),
    now,
    // The documented default of an injectable; engine code only calls `random`.
    random: options.random ?? Math.random,
    backoff: resolveBackoffPolicy(options.backoff),
    batchSize: Math.floor(positive('batchSize', options.batchSize ?? SYNC_ENGINE_DEFAULTS.batchSize)),
    ...throughputOptions(options),
    powerSavingBackoffFactor: stretchFactor(
      'powerSavingBackoffFactor',
      options.powerSavingBackoffFactor ?? SYNC_ENGINE_DEFAULTS.powerSavingBackoffFactor,
    ),
    storageRetryMs: timerOptionMs('storageRetryMs', options.storageRetryMs ?? SYNC_ENGINE_DEFAULTS.storageRetryMs),
    idlePollMs: timerOptionMs('idlePollMs', options.idlePollMs ?? SYNC_ENGINE_DEFAULTS.idlePollMs, { allowZero: true }),
    ...crossTabParts(options),
    serverWake: options.serverWake,
    reconcile: options.reconcile,
    // Trace context of the attempt (W3C traceparent when the app registered
    // a propagator), then the app's own headers; the API client drops any of
    // the engine's own. Called after attemptStarted.
    requestHeaders: (op) => {
      const traced = tracedHeaders(op);
      const own = typeof ownHeaders === 'function' ? ownHeaders(op) : ownHeaders;
      return traced === undefined && own === undefined ? undefined : { ...traced, ...own };
    },
    rateLimiter: options.rateLimit === false ? undefined : createRateLimiter(options.rateLimit ?? {}, scheduler),
    admit: fenced === undefined ? undefined : () => fenced.checkSend(),
    payloadLimits: options.payloadLimits,
  };
}

/**
 * The cross-tab channel and the wake, with their defaults: in browsers a
 * `BroadcastChannel` named after the store, whose append messages are also
 * the wake; elsewhere neither (Node: `pollOnlyCrossTab()` to opt in).
 */
function crossTabParts(options: SyncEngineOptions): Pick<EngineDeps, 'crossTab' | 'wake'> {
  const name = options.store.name;
  const crossTab =
    options.crossTab === false
      ? undefined
      : (options.crossTab ?? (isBrowser() && name !== undefined ? broadcastChannelCrossTab(`sync-engine:tabs:${name}`) : undefined));
  const wake = options.wake === false ? undefined : (options.wake ?? (crossTab?.live === true ? crossTabWake(crossTab) : undefined));
  return { crossTab, wake };
}

/** Metrics, tracing and logging: independent subscribers of the engine's `events$`. */
function observe(engine: EngineCore, options: SyncEngineOptions, scheduler: SchedulerLike, now: () => number): Observability {
  return attachObservability(
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
}
