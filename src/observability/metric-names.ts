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
