import type { MeterProvider, TracerProvider } from '@opentelemetry/api';
import type { Observable, ObservableInput, SchedulerLike } from 'rxjs';
import type { EngineEvent } from '../engine/sync-engine';
import type { PendingOp } from '../op/pending-op';
import { attachLogger } from './attach-logger';
import { noopLogger, redactingLogger, type Logger } from '../log/logger';
import { createMetrics, type Metrics } from './metrics';
import { attachTracing, injectTraceHeaders, type Tracing } from './tracing';

/** What the engine hands to `attachObservability`. */
export interface ObservabilitySource {
  readonly events$: Observable<EngineEvent>;
  /** Authoritative queue depth, e.g. `status$.pipe(map((s) => s.pending))`. */
  readonly pendingCount$?: Observable<number>;
  /** Ops pending at start-up, e.g. `pendingOps(500)`. */
  readonly initialPending?: ObservableInput<Pick<PendingOp, 'id' | 'createdAt'>>;
}

/** The app's observability options (all optional). */
export interface ObservabilityOptions {
  /** Receives redacted lifecycle lines. Default: no output. */
  readonly logger?: Logger;
  /** Default: the global OTel TracerProvider. */
  readonly tracerProvider?: TracerProvider;
  /** Default: the global OTel MeterProvider, re-read lazily. */
  readonly meterProvider?: MeterProvider;
  readonly scheduler?: SchedulerLike;
  readonly now?: () => number;
  readonly memoryUsage?: () => number | undefined;
  /** `metrics$` tick, ms. Default 5000. */
  readonly sampleIntervalMs?: number;
}

/** Handles of the three subscribers. */
export interface Observability {
  readonly metrics: Metrics;
  readonly tracing: Tracing;
  /** The app's logger wrapped by `redactingLogger`: use it for the engine's own catch-alls. */
  readonly log: Logger;
  /** W3C trace headers for an op's current attempt (the pipeline's `requestHeaders`). */
  requestHeaders(op: Pick<PendingOp, 'id'>): Readonly<Record<string, string>>;
  /** Detach everything; open spans end as `suspended`. */
  dispose(): void;
}

/**
 * Attach metrics, tracing and logging to an engine's event stream in one
 * call: the three stay independent subscribers of `events$`.
 *
 * @example
 * const obs = attachObservability(
 *   { events$, pendingCount$: status$.pipe(map((s) => s.pending)), initialPending: pendingOps(500) },
 *   { logger: options.logger, scheduler, now },
 * );
 * // ProcessContext: requestHeaders: obs.requestHeaders
 * // SyncEngine:     metrics$: obs.metrics.metrics$
 */
export function attachObservability(source: ObservabilitySource, options: ObservabilityOptions = {}): Observability {
  const logger = options.logger ?? noopLogger;
  const logSub = attachLogger(source.events$, logger);
  const tracing = attachTracing(source.events$, { tracerProvider: options.tracerProvider });
  const metrics = createMetrics({
    events$: source.events$,
    pendingCount$: source.pendingCount$,
    initialPending: source.initialPending,
    scheduler: options.scheduler,
    now: options.now,
    memoryUsage: options.memoryUsage,
    sampleIntervalMs: options.sampleIntervalMs,
    meterProvider: options.meterProvider,
  });
  return {
    metrics,
    tracing,
    log: redactingLogger(logger),
    requestHeaders: (op) => injectTraceHeaders({}, tracing.contextFor(op.id)),
    dispose: () => {
      logSub.unsubscribe();
      tracing.dispose();
      metrics.dispose();
    },
  };
}
