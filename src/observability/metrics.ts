import {
  metrics as otelMetrics,
  type BatchObservableCallback,
  type Meter,
  type MeterProvider,
  type Observable as OtelObservable,
} from '@opentelemetry/api';
import {
  BehaviorSubject,
  Subject,
  asyncScheduler,
  interval,
  map,
  filter,
  from,
  merge,
  startWith,
  takeUntil,
  type Observable,
  type ObservableInput,
  type SchedulerLike,
  type Subscription,
} from 'rxjs';
import type { EngineEvent } from '../engine/sync-engine';
import type { PendingOp } from '../op/pending-op';
import { BoundedSet } from './bounded-set';
import { BucketHistogram } from './bucket-histogram';
import { ERROR_BUCKET, isNetworkKind } from './error-buckets';
import { PendingAgeSketch } from './pending-age-sketch';

/** Every metric of the spec, under its exact name. */
export const METRIC_NAMES = [
  'sync.pending_ops.count',
  'sync.pending_ops.age_p50',
  'sync.pending_ops.age_p99',
  'sync.processed.count',
  'sync.processed.success',
  'sync.processed.failed',
  'sync.process_time.avg',
  'sync.process_time.p99',
  'sync.retries.count',
  'sync.backoff.duration.avg',
  'sync.retry_after.count',
  'sync.errors.transient',
  'sync.errors.permanent',
  'sync.errors.ambiguous',
  'sync.errors.network',
  'sync.processor.active',
  'sync.lock.takeover.count',
  'sync.memory.usage',
] as const;

export type MetricName = (typeof METRIC_NAMES)[number];

/**
 * One reading of every metric, keyed by its spec name. Durations and ages in
 * milliseconds, memory in bytes (`null` when the platform cannot tell),
 * `sync.processor.active` 1 or 0. Counters are totals since the metrics were
 * created.
 */
export type MetricsSnapshot = { readonly [K in Exclude<MetricName, 'sync.memory.usage'>]: number } & {
  readonly 'sync.memory.usage': number | null;
};

type InstrumentKind = 'counter' | 'gauge';

/** Instrument kind, unit and description of each metric (the OTel face). */
export const METRIC_DESCRIPTORS: Readonly<
  Record<MetricName, { readonly kind: InstrumentKind; readonly unit: string; readonly description: string }>
> = {
  'sync.pending_ops.count': { kind: 'gauge', unit: '{op}', description: 'Current queue depth' },
  'sync.pending_ops.age_p50': { kind: 'gauge', unit: 'ms', description: 'Median age of the pending ops' },
  'sync.pending_ops.age_p99': { kind: 'gauge', unit: 'ms', description: '99th percentile age of the pending ops' },
  'sync.processed.count': { kind: 'counter', unit: '{op}', description: 'Ops that reached a final outcome' },
  'sync.processed.success': { kind: 'counter', unit: '{op}', description: 'Ops committed by the server' },
  'sync.processed.failed': { kind: 'counter', unit: '{op}', description: 'Ops moved to the dead-letter queue' },
  'sync.process_time.avg': { kind: 'gauge', unit: 'ms', description: 'Mean duration of a send attempt' },
  'sync.process_time.p99': { kind: 'gauge', unit: 'ms', description: '99th percentile duration of a send attempt' },
  'sync.retries.count': { kind: 'counter', unit: '{attempt}', description: 'Send attempts that were retries' },
  'sync.backoff.duration.avg': { kind: 'gauge', unit: 'ms', description: 'Mean backoff delay before a retry' },
  'sync.retry_after.count': { kind: 'counter', unit: '{wait}', description: 'Backoffs that honoured a server Retry-After' },
  'sync.errors.transient': { kind: 'counter', unit: '{error}', description: 'Failed attempts with a transient error' },
  'sync.errors.permanent': { kind: 'counter', unit: '{error}', description: 'Failed attempts with a permanent error' },
  'sync.errors.ambiguous': { kind: 'counter', unit: '{error}', description: 'Failed attempts with a conflict' },
  'sync.errors.network': { kind: 'counter', unit: '{error}', description: 'Failed attempts without an HTTP answer' },
  'sync.processor.active': { kind: 'gauge', unit: '1', description: '1 while the drain may run (gate open)' },
  'sync.lock.takeover.count': { kind: 'counter', unit: '{takeover}', description: 'Stale processor locks taken over' },
  'sync.memory.usage': { kind: 'gauge', unit: 'By', description: 'JS heap in use (performance.memory)' },
};

/**
 * The default memory probe: `performance.memory.usedJSHeapSize` where the
 * browser has it (Chromium), otherwise `undefined` (reported as `null`). On
 * Node pass `() => process.memoryUsage().heapUsed`.
 */
export function defaultMemoryUsage(): number | undefined {
  const perf = (globalThis as { performance?: { memory?: { usedJSHeapSize?: unknown } } }).performance;
  const used = perf?.memory?.usedJSHeapSize;
  return typeof used === 'number' && Number.isFinite(used) ? used : undefined;
}

/** Inputs of `createMetrics`. */
export interface MetricsOptions {
  /** The engine's lifecycle events (`engine.events$`). */
  readonly events$: Observable<EngineEvent>;
  /**
   * The authoritative queue depth (e.g. `status$.pipe(map(s => s.pending))`
   * or the store's counts). Without it the depth is derived from events:
   * enqueued minus completed/failed, plus the seeded ops.
   */
  readonly pendingCount$?: Observable<number>;
  /**
   * Ops already pending when the metrics start (e.g. `engine.pendingOps(500)`,
   * an Observable read page by page, or any async iterable), for the age
   * percentiles after a restart.
   * Only ops with `createdAt` before creation time are taken, so an op
   * enqueued meanwhile is not counted twice.
   */
  readonly initialPending?: ObservableInput<Pick<PendingOp, 'id' | 'createdAt'>>;
  /** Time source for ages and the periodic tick. Default `asyncScheduler`. */
  readonly scheduler?: SchedulerLike;
  /** Clock, epoch ms. Default `scheduler.now()`. */
  readonly now?: () => number;
  /** Heap-in-use probe in bytes. Default {@link defaultMemoryUsage}. */
  readonly memoryUsage?: () => number | undefined;
  /** `metrics$` re-emits at least this often (ages grow). Default 5000 ms. */
  readonly sampleIntervalMs?: number;
  /**
   * The OTel meter provider. Default: the global one, re-read on every event
   * and `metrics$` tick, so an app registering its MeterProvider after the
   * engine was created still gets real instruments.
   */
  readonly meterProvider?: MeterProvider;
  /** Ranges kept by the pending-age sketch. Default 256. */
  readonly ageSketchCapacity?: number;
}

/** The metrics of one engine. */
export interface Metrics {
  /** A snapshot now, then on every event and every `sampleIntervalMs`. */
  readonly metrics$: Observable<MetricsSnapshot>;
  /** The current reading. */
  snapshot(): MetricsSnapshot;
  /** Re-read the global MeterProvider now (it is also re-read on every event). */
  refreshMeterProvider(): void;
  /** Stop listening and unregister the OTel callbacks. */
  dispose(): void;
}

const METER_NAME = 'sync-engine';
const METER_VERSION = '0.1.0';

/**
 * Binds the snapshot to OTel observable instruments, obtaining the meter
 * lazily: the metrics API has no proxy, so instruments made on the no-op
 * provider would stay no-ops forever. Every `sync()` compares the current
 * provider with the one the instruments came from and re-creates them when
 * it changed. Counters are cumulative totals kept by us, so nothing recorded
 * before registration is lost.
 */
class OtelBridge {
  #provider: MeterProvider | undefined;
  #meter: Meter | undefined;
  #instruments: OtelObservable[] = [];
  readonly #callback: BatchObservableCallback;

  constructor(
    read: () => MetricsSnapshot,
    private readonly explicitProvider: MeterProvider | undefined,
  ) {
    this.#callback = (result) => {
      const s = read();
      METRIC_NAMES.forEach((name, i) => {
        const value = s[name];
        const instrument = this.#instruments[i];
        if (instrument !== undefined && typeof value === 'number') result.observe(instrument, value);
      });
    };
  }

  sync(): void {
    const provider = this.explicitProvider ?? otelMetrics.getMeterProvider();
    if (provider === this.#provider) return;
    this.detach();
    this.#provider = provider;
    const meter = provider.getMeter(METER_NAME, METER_VERSION);
    this.#instruments = METRIC_NAMES.map((name) => {
      const d = METRIC_DESCRIPTORS[name];
      const opts = { unit: d.unit, description: d.description };
      return d.kind === 'counter' ? meter.createObservableCounter(name, opts) : meter.createObservableGauge(name, opts);
    });
    meter.addBatchObservableCallback(this.#callback, this.#instruments);
    this.#meter = meter;
  }

  detach(): void {
    if (this.#meter !== undefined) this.#meter.removeBatchObservableCallback(this.#callback, this.#instruments);
    this.#meter = undefined;
    this.#provider = undefined;
    this.#instruments = [];
  }
}

/**
 * Subscribe to the engine's events and keep every spec metric, with bounded
 * memory: percentiles come from fixed-size structures (`BucketHistogram` for
 * attempt durations, `PendingAgeSketch` for pending ages), "seen recently"
 * sets are capped. Exposed twice: `metrics$` snapshots for in-app dashboards
 * and tests, and OpenTelemetry observable instruments under the same names.
 *
 * Definitions: `processed.*` count ops reaching a final outcome (`completed`,
 * `failed`); `process_time.*` is the duration of one send attempt;
 * `retries.count` counts attempts of an op that had been attempted before
 * (this session, or per its stored `attempts`/`lastError`); `errors.*` count
 * failed attempts by bucket (`ERROR_BUCKET`), `errors.network` overlapping
 * `errors.transient`.
 *
 * @example
 * const m = createMetrics({ events$: engine.events$, pendingCount$: engine.status$.pipe(map((s) => s.pending)) });
 * m.metrics$.subscribe((s) => render(s['sync.pending_ops.count'], s['sync.pending_ops.age_p99']));
 */
export function createMetrics(options: MetricsOptions): Metrics {
  const scheduler = options.scheduler ?? asyncScheduler;
  const now = options.now ?? (() => scheduler.now());
  const memoryUsage = options.memoryUsage ?? defaultMemoryUsage;
  const sampleIntervalMs = options.sampleIntervalMs ?? 5_000;
  const createdAt = now();

  const ages = new PendingAgeSketch(options.ageSketchCapacity ?? 256);
  const processTime = new BucketHistogram();
  const attempted = new BoundedSet<string>(256);
  const removed = new BoundedSet<string>(256);
  let derivedPending = 0;
  let authoritativePending: number | undefined;
  let success = 0;
  let failed = 0;
  let retries = 0;
  let backoffCount = 0;
  let backoffSum = 0;
  let retryAfter = 0;
  const errors = { transient: 0, permanent: 0, ambiguous: 0, network: 0 };
  let active = 0;
  let takeovers = 0;

  const changed$ = new Subject<void>();
  const disposed$ = new BehaviorSubject(false);

  const snapshot = (): MetricsSnapshot => {
    const t = now();
    let memory: number | null = null;
    try {
      memory = memoryUsage() ?? null;
    } catch {
      memory = null;
    }
    return {
      'sync.pending_ops.count': authoritativePending ?? Math.max(0, derivedPending),
      'sync.pending_ops.age_p50': ages.ageQuantile(0.5, t),
      'sync.pending_ops.age_p99': ages.ageQuantile(0.99, t),
      'sync.processed.count': success + failed,
      'sync.processed.success': success,
      'sync.processed.failed': failed,
      'sync.process_time.avg': processTime.mean,
      'sync.process_time.p99': processTime.quantile(0.99),
      'sync.retries.count': retries,
      'sync.backoff.duration.avg': backoffCount === 0 ? 0 : backoffSum / backoffCount,
      'sync.retry_after.count': retryAfter,
      'sync.errors.transient': errors.transient,
      'sync.errors.permanent': errors.permanent,
      'sync.errors.ambiguous': errors.ambiguous,
      'sync.errors.network': errors.network,
      'sync.processor.active': active,
      'sync.lock.takeover.count': takeovers,
      'sync.memory.usage': memory,
    };
  };

  const otel = new OtelBridge(snapshot, options.meterProvider);
  otel.sync();

  // An op leaves the queue: count it once, even if two events report it.
  const leave = (id: string, opCreatedAt: number | undefined): boolean => {
    if (removed.has(id)) return false;
    removed.add(id);
    attempted.delete(id);
    derivedPending -= 1;
    if (opCreatedAt !== undefined) ages.remove(opCreatedAt);
    return true;
  };

  const onEvent = (e: EngineEvent): void => {
    switch (e.type) {
      case 'enqueued':
        derivedPending += 1;
        ages.add(e.op.createdAt);
        break;
      case 'attemptStarted': {
        const before = attempted.has(e.op.id) || e.attempt > 1 || e.op.attempts > 0 || e.op.lastError != null;
        if (before) retries += 1;
        attempted.add(e.op.id);
        break;
      }
      case 'attemptSucceeded':
        processTime.record(e.durationMs);
        break;
      case 'attemptFailed': {
        processTime.record(e.durationMs);
        errors[ERROR_BUCKET[e.error.kind]] += 1;
        if (isNetworkKind(e.error.kind)) errors.network += 1;
        break;
      }
      case 'backoff':
        backoffCount += 1;
        backoffSum += e.delayMs;
        if (e.retryAfter) retryAfter += 1;
        break;
      case 'completed':
        if (leave(e.op.id, e.op.createdAt)) success += 1;
        break;
      case 'failed':
        if (leave(e.record.id, e.record.op?.createdAt)) failed += 1;
        break;
      case 'conflict':
        // 'drop' removes the op without committing it; 'fail' is followed by
        // a `failed` event and 'retry' keeps it pending.
        if (e.resolution === 'drop') leave(e.op.id, e.op.createdAt);
        break;
      case 'cancelled':
        // Left the queue unsent: neither a success nor a failure.
        leave(e.op.id, e.op.createdAt);
        break;
      case 'lockAcquired':
        if (e.takeover) takeovers += 1;
        break;
      case 'gate':
        active = e.open ? 1 : 0;
        break;
      case 'lockLost':
      case 'lockError':
      case 'lockReleased':
      case 'authRequired':
      case 'tokenRefreshed':
        break;
    }
  };

  const subscriptions: Subscription[] = [];
  subscriptions.push(
    options.events$.subscribe({
      next: (e) => {
        try {
          onEvent(e);
          otel.sync();
        } catch {
          // Metrics must never break the event stream's other subscribers.
        }
        changed$.next();
      },
    }),
  );
  if (options.pendingCount$ !== undefined) {
    subscriptions.push(
      options.pendingCount$.subscribe((n) => {
        authoritativePending = n;
        otel.sync();
        changed$.next();
      }),
    );
  }

  if (options.initialPending !== undefined) {
    subscriptions.push(
      from(options.initialPending)
        .pipe(takeUntil(disposed$.pipe(filter(Boolean))))
        .subscribe({
          next: (op) => {
            if (op.createdAt >= createdAt || removed.has(op.id)) return;
            ages.add(op.createdAt);
            derivedPending += 1;
          },
          complete: () => changed$.next(),
          error: () => undefined, // a failed seed only leaves the ages incomplete
        }),
    );
  }

  const metrics$ = merge(changed$, interval(sampleIntervalMs, scheduler)).pipe(
    startWith(undefined),
    map(() => {
      otel.sync();
      return snapshot();
    }),
    takeUntil(disposed$.pipe(filter(Boolean))),
  );

  return {
    metrics$,
    snapshot,
    refreshMeterProvider: () => otel.sync(),
    dispose: () => {
      disposed$.next(true);
      subscriptions.forEach((s) => s.unsubscribe());
      otel.detach();
      changed$.complete();
    },
  };
}
