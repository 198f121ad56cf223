import type { MeterProvider } from '@opentelemetry/api';
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
import type { MetricsSnapshot } from './metric-names';
import { MetricsTally } from './metrics-tally';
import { OtelBridge } from './otel-bridge';

export { METRIC_NAMES, METRIC_DESCRIPTORS } from './metric-names';
export type { MetricName, MetricsSnapshot } from './metric-names';

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

/**
 * Subscribe to the engine's events and keep every spec metric, with bounded
 * memory (the totals live in `MetricsTally`). Exposed twice: `metrics$` snapshots for in-app dashboards
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
  const createdAt = now();
  const tally = new MetricsTally(options.ageSketchCapacity ?? 256);
  const snapshot = (): MetricsSnapshot => tally.read(now(), readMemory(memoryUsage));
  const otel = new OtelBridge(snapshot, options.meterProvider);
  otel.sync();

  const changed$ = new Subject<void>();
  const disposed$ = new BehaviorSubject(false);
  const until$ = disposed$.pipe(filter(Boolean));
  const subscriptions = listen(options, tally, otel, changed$, until$, createdAt);

  const metrics$ = merge(changed$, interval(options.sampleIntervalMs ?? 5_000, scheduler)).pipe(
    startWith(undefined),
    map(() => {
      otel.sync();
      return snapshot();
    }),
    takeUntil(until$),
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

/** The memory probe's answer, `null` when it has none or throws. */
function readMemory(memoryUsage: () => number | undefined): number | null {
  try {
    return memoryUsage() ?? null;
  } catch {
    return null;
  }
}

/** Subscribe the tally to the events, the authoritative depth and the seed. */
function listen(
  options: MetricsOptions,
  tally: MetricsTally,
  otel: OtelBridge,
  changed$: Subject<void>,
  until$: Observable<unknown>,
  createdAt: number,
): Subscription[] {
  const subscriptions: Subscription[] = [];
  subscriptions.push(
    options.events$.subscribe({
      next: (e) => {
        try {
          tally.apply(e);
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
        tally.setPending(n);
        otel.sync();
        changed$.next();
      }),
    );
  }
  if (options.initialPending !== undefined) {
    subscriptions.push(
      from(options.initialPending)
        .pipe(takeUntil(until$))
        .subscribe({
          next: (op) => {
            if (op.createdAt < createdAt) tally.seed(op.id, op.createdAt);
          },
          complete: () => changed$.next(),
          error: () => undefined, // a failed seed only leaves the ages incomplete
        }),
    );
  }
  return subscriptions;
}
