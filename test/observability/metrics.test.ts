import { metrics as otelMetrics } from '@opentelemetry/api';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  MetricReader,
  PeriodicExportingMetricReader,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { Subject, map, of } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import type { EngineEvent } from '../../src/engine/sync-engine';
import { METRIC_NAMES, createMetrics, defaultMemoryUsage, type MetricName } from '../../src/observability/metrics';
import { ev, failedRecord, makeOp } from './fixtures';

class TestReader extends MetricReader {
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** Metric name → the value of its single data point. */
function pointsOf(rm: ResourceMetrics): Record<string, number> {
  const out: Record<string, number> = {};
  for (const sm of rm.scopeMetrics) {
    for (const m of sm.metrics) {
      const dp = m.dataPoints[0];
      if (dp !== undefined) out[m.descriptor.name] = dp.value as number;
    }
  }
  return out;
}

function setup(opts: Partial<Parameters<typeof createMetrics>[0]> = {}) {
  let clock = 10_000;
  const events$ = new Subject<EngineEvent>();
  const m = createMetrics({ events$, now: () => clock, memoryUsage: () => 1234, ...opts });
  return {
    m,
    emit: (e: EngineEvent) => events$.next(e),
    setClock: (t: number) => {
      clock = t;
    },
    value: (name: MetricName) => m.snapshot()[name],
  };
}

describe('createMetrics: each spec metric, provoked', () => {
  it('starts at zero for every metric name', () => {
    const { m } = setup();
    const s = m.snapshot();
    expect(Object.keys(s).sort()).toEqual([...METRIC_NAMES].sort());
    for (const name of METRIC_NAMES) if (name !== 'sync.memory.usage') expect(s[name]).toBe(0);
    m.dispose();
  });

  it('sync.pending_ops.count: derived from events, or taken from pendingCount$', () => {
    const a = setup();
    const op1 = makeOp({ createdAt: 1_000 });
    const op2 = makeOp({ createdAt: 2_000 });
    a.emit(ev.enqueued(op1));
    a.emit(ev.enqueued(op2));
    expect(a.value('sync.pending_ops.count')).toBe(2);
    a.emit(ev.completed(op1, 3_000));
    a.emit(ev.completed(op1, 3_000)); // reported twice: counted once
    expect(a.value('sync.pending_ops.count')).toBe(1);

    const pending$ = new Subject<number>();
    const b = setup({ pendingCount$: pending$ });
    b.emit(ev.enqueued(op1));
    pending$.next(42);
    expect(b.value('sync.pending_ops.count')).toBe(42);
  });

  it('sync.pending_ops.age_p50 / age_p99: from the pending ops’ createdAt and the clock', () => {
    const t = setup();
    const ops = [1_000, 2_000, 3_000, 4_000].map((createdAt) => makeOp({ createdAt }));
    ops.forEach((op) => t.emit(ev.enqueued(op)));
    t.setClock(5_000);
    expect(t.value('sync.pending_ops.age_p99')).toBe(4_000);
    expect(t.value('sync.pending_ops.age_p50')).toBe(2_000);
    t.emit(ev.completed(ops[0]!, 5_000));
    expect(t.value('sync.pending_ops.age_p99')).toBe(3_000);
    t.setClock(8_000);
    expect(t.value('sync.pending_ops.age_p99')).toBe(6_000);
  });

  it('ages include ops pending from an earlier session (initialPending, paged)', async () => {
    async function* pages() {
      yield makeOp({ createdAt: 500 });
      yield makeOp({ createdAt: 20_000 }); // after creation: would come as an `enqueued` event
    }
    const t = setup({ initialPending: pages() });
    await new Promise((r) => setImmediate(r));
    expect(t.value('sync.pending_ops.age_p99')).toBe(9_500);
    expect(t.value('sync.pending_ops.count')).toBe(1);
  });

  it('initialPending may be the engine\'s cold pendingOps() Observable', () => {
    const t = setup({ initialPending: of(makeOp({ createdAt: 2_000 }), makeOp({ createdAt: 4_000 })) });
    expect(t.value('sync.pending_ops.count')).toBe(2);
    expect(t.value('sync.pending_ops.age_p99')).toBe(8_000);
    expect(t.value('sync.pending_ops.age_p50')).toBe(6_000);
  });

  it('sync.processed.count|success|failed: final outcomes', () => {
    const t = setup();
    const ok = makeOp();
    const bad = makeOp();
    const ledger = makeOp();
    [ok, bad, ledger].forEach((op) => t.emit(ev.enqueued(op)));
    t.emit(ev.completed(ok, 2_000));
    t.emit(ev.completed(ledger, 2_100, true));
    t.emit(ev.failed(failedRecord(bad, 'permanent', { kind: 'permanent', status: 400 }, 2_200)));
    expect([t.value('sync.processed.count'), t.value('sync.processed.success'), t.value('sync.processed.failed')]).toEqual([
      3, 2, 1,
    ]);
  });

  it('sync.process_time.avg|p99: send attempt durations, success and failure', () => {
    const t = setup();
    const op = makeOp();
    for (let i = 1; i <= 99; i++) t.emit(ev.attemptSucceeded(op, 2_000, 100));
    t.emit(ev.attemptFailed(op, 2_000, { kind: 'timeout' }, 10_100));
    expect(t.value('sync.process_time.avg')).toBe(200);
    expect(t.value('sync.process_time.p99')).toBeCloseTo(100, -1); // 99 of 100 took 100 ms
    t.emit(ev.attemptFailed(op, 2_000, { kind: 'timeout' }, 10_100));
    expect(Math.abs(t.value('sync.process_time.p99')! - 10_100) / 10_100).toBeLessThan(0.02);
  });

  it('sync.retries.count: attempts of an op attempted before (this session or per its stored state)', () => {
    const t = setup();
    const op = makeOp();
    t.emit(ev.attemptStarted(op, 2_000, 1));
    expect(t.value('sync.retries.count')).toBe(0);
    t.emit(ev.attemptStarted(op, 3_000, 1)); // network error did not consume the budget
    t.emit(ev.attemptStarted(op, 4_000, 2));
    t.emit(ev.attemptStarted(makeOp({ attempts: 2 }), 5_000, 3)); // resumed after a restart
    t.emit(ev.attemptStarted(makeOp(), 6_000, 1)); // first attempt of another op
    expect(t.value('sync.retries.count')).toBe(3);
  });

  it('sync.backoff.duration.avg and sync.retry_after.count', () => {
    const t = setup();
    const op = makeOp();
    t.emit(ev.backoff(op, 2_000, 1_000));
    t.emit(ev.backoff(op, 3_000, 3_000));
    t.emit(ev.backoff(op, 4_000, 5_000, true));
    expect(t.value('sync.backoff.duration.avg')).toBe(3_000);
    expect(t.value('sync.retry_after.count')).toBe(1);
  });

  it('sync.errors.transient|permanent|ambiguous|network: failed attempts by bucket', () => {
    const t = setup();
    const op = makeOp();
    const kinds = [
      { kind: 'network' },
      { kind: 'timeout' },
      { kind: 'server', status: 503 },
      { kind: 'rateLimited', status: 429 },
      { kind: 'auth', status: 401 },
      { kind: 'permanent', status: 400 },
      { kind: 'malformedResponse', status: 200 },
      { kind: 'conflict', status: 409 },
    ] as const;
    kinds.forEach((error) => t.emit(ev.attemptFailed(op, 2_000, error)));
    expect({
      transient: t.value('sync.errors.transient'),
      permanent: t.value('sync.errors.permanent'),
      ambiguous: t.value('sync.errors.ambiguous'),
      network: t.value('sync.errors.network'),
    }).toEqual({ transient: 5, permanent: 2, ambiguous: 1, network: 2 });
  });

  it('sync.processor.active follows the gate', () => {
    const t = setup();
    t.emit(ev.gate(1, true));
    expect(t.value('sync.processor.active')).toBe(1);
    t.emit(ev.gate(2, false));
    expect(t.value('sync.processor.active')).toBe(0);
  });

  it('sync.lock.takeover.count counts takeovers only', () => {
    const t = setup();
    t.emit(ev.lockAcquired(1, false));
    t.emit(ev.lockAcquired(2, true));
    t.emit(ev.lockAcquired(3, true));
    expect(t.value('sync.lock.takeover.count')).toBe(2);
  });

  it('sync.memory.usage: injected probe; null when unknown; browser default reads performance.memory', () => {
    expect(setup({ memoryUsage: () => 5_000_000 }).value('sync.memory.usage')).toBe(5_000_000);
    expect(setup({ memoryUsage: () => undefined }).value('sync.memory.usage')).toBeNull();
    expect(
      setup({
        memoryUsage: () => {
          throw new Error('no');
        },
      }).value('sync.memory.usage'),
    ).toBeNull();

    const g = globalThis as { performance?: unknown };
    const original = Object.getOwnPropertyDescriptor(globalThis, 'performance');
    Object.defineProperty(globalThis, 'performance', { value: { memory: { usedJSHeapSize: 777 } }, configurable: true });
    try {
      expect(defaultMemoryUsage()).toBe(777);
    } finally {
      if (original) Object.defineProperty(globalThis, 'performance', original);
    }
    expect(g.performance).toBeDefined();
    expect(defaultMemoryUsage()).toBeUndefined(); // Node has no performance.memory
  });

  it('a conflict dropped by reconciliation leaves the queue', () => {
    const t = setup();
    const op = makeOp();
    t.emit(ev.enqueued(op));
    t.emit(ev.conflict(op, 2_000, 'drop'));
    expect(t.value('sync.pending_ops.count')).toBe(0);
  });
});

describe('metrics$ in virtual time', () => {
  it('emits at subscription, on each event and every sampleIntervalMs, with ages growing', () => {
    const scheduler = new TestScheduler((a, b) => expect(a).toEqual(b));
    scheduler.run(({ hot, expectObservable }) => {
      const op = makeOp({ createdAt: 0 });
      const events$ = hot<EngineEvent>('-- 500ms e', { e: ev.enqueued(op, 0) });
      const m = createMetrics({ events$, scheduler, sampleIntervalMs: 1_000, memoryUsage: () => 1 });
      const ages$ = m.metrics$.pipe(map((s) => s['sync.pending_ops.age_p99']));
      // subscription at 0; event at 502; ticks at 1000, 2000, 3000
      expectObservable(ages$, '^ 3100ms !').toBe('a 501ms b 497ms c 999ms d 999ms e', {
        a: 0,
        b: 502,
        c: 1_000,
        d: 2_000,
        e: 3_000,
      });
    });
  });

  it('completes after dispose', () => {
    const scheduler = new TestScheduler((a, b) => expect(a).toEqual(b));
    scheduler.run(({ cold, expectObservable }) => {
      const m = createMetrics({ events$: cold<EngineEvent>('-'), scheduler, sampleIntervalMs: 1_000, memoryUsage: () => 1 });
      scheduler.schedule(() => m.dispose(), 1_500);
      expectObservable(m.metrics$.pipe(map((s) => s['sync.processed.count']))).toBe('a 999ms a 499ms |', { a: 0 });
    });
  });
});

describe('OpenTelemetry instruments', () => {
  afterEach(() => otelMetrics.disable());

  it('an app registering its MeterProvider AFTER the engine was created still gets real instruments', async () => {
    const events$ = new Subject<EngineEvent>();
    // 1. engine (and its metrics) created while only the no-op provider exists
    const m = createMetrics({ events$, memoryUsage: () => 2_048 });
    // The trap this guards against: a meter obtained now stays a no-op forever.
    const earlyMeter = otelMetrics.getMeter('early');
    const earlyCounter = earlyMeter.createCounter('early.count');

    // 2. the app registers its SDK later
    const reader = new TestReader();
    const provider = new MeterProvider({ readers: [reader] });
    expect(otelMetrics.setGlobalMeterProvider(provider)).toBe(true);
    earlyCounter.add(1);

    // 3. events after registration (and those before) show up under the spec names
    const op = makeOp();
    events$.next(ev.enqueued(op));
    events$.next(ev.attemptFailed(op, 2_000, { kind: 'network' }, 30));
    events$.next(ev.backoff(op, 2_000, 1_000, true));
    events$.next(ev.completed(op, 3_000));
    events$.next(ev.lockAcquired(3_000, true));
    events$.next(ev.gate(3_000, true));

    const { resourceMetrics, errors } = await reader.collect();
    expect(errors).toEqual([]);
    const points = pointsOf(resourceMetrics);
    expect(Object.keys(points).filter((k) => k.startsWith('sync.')).sort()).toEqual([...METRIC_NAMES].sort());
    expect(points['early.count']).toBeUndefined();
    expect(points).toMatchObject({
      'sync.processed.count': 1,
      'sync.processed.success': 1,
      'sync.errors.transient': 1,
      'sync.errors.network': 1,
      'sync.retry_after.count': 1,
      'sync.backoff.duration.avg': 1_000,
      'sync.lock.takeover.count': 1,
      'sync.processor.active': 1,
      'sync.memory.usage': 2_048,
      'sync.pending_ops.count': 0,
    });
    m.dispose();
    await provider.shutdown();
  });

  it('exports through PeriodicExportingMetricReader + InMemoryMetricExporter on forceFlush, with no attributes', async () => {
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 });
    const provider = new MeterProvider({ readers: [reader] });
    const events$ = new Subject<EngineEvent>();
    const m = createMetrics({ events$, meterProvider: provider, memoryUsage: () => 1 });
    const op = makeOp();
    events$.next(ev.enqueued(op));
    events$.next(ev.attemptFailed(op, 2_000, { kind: 'permanent', status: 400 }));
    events$.next(ev.failed(failedRecord(op, 'permanent', { kind: 'permanent', status: 400 }, 2_000)));
    await provider.forceFlush();
    const exported = exporter.getMetrics();
    const last = exported[exported.length - 1]!;
    const points = pointsOf(last);
    expect(points['sync.processed.failed']).toBe(1);
    expect(points['sync.errors.permanent']).toBe(1);
    const attributes = last.scopeMetrics.flatMap((s) => s.metrics.flatMap((mm) => mm.dataPoints.map((d) => d.attributes)));
    expect(attributes.every((a) => Object.keys(a).length === 0)).toBe(true);
    m.dispose();
    await provider.shutdown();
  });

  it('dispose unregisters the callbacks', async () => {
    const reader = new TestReader();
    const provider = new MeterProvider({ readers: [reader] });
    const m = createMetrics({ events$: new Subject<EngineEvent>(), meterProvider: provider, memoryUsage: () => 1 });
    m.dispose();
    const { resourceMetrics } = await reader.collect();
    expect(pointsOf(resourceMetrics)).toEqual({});
    await provider.shutdown();
  });
});
