import { SpanKind, SpanStatusCode, propagation, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { Subject } from 'rxjs';
import type { EngineEvent } from '../../src/engine/sync-engine';
import { attachTracing, injectTraceHeaders } from '../../src/observability/tracing';
import { ev, failedRecord, makeOp } from './fixtures';

const ms = (hr: [number, number]): number => hr[0] * 1000 + hr[1] / 1e6;

function setup(maxOpenOps?: number) {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  const events$ = new Subject<EngineEvent>();
  const tracing = attachTracing(events$, { tracerProvider: provider, maxOpenOps });
  return {
    tracing,
    emit: (e: EngineEvent) => events$.next(e),
    spans: (): ReadableSpan[] => exporter.getFinishedSpans(),
    named: (name: string) => exporter.getFinishedSpans().filter((s) => s.name === name),
  };
}

describe('attachTracing', () => {
  it('one sync.op span per op lifetime, one sync.op.send child per attempt, backoff as span events', () => {
    const t = setup();
    const op = makeOp({ createdAt: 1_000, type: 'todo.create', payload: { note: 'PAYLOAD-MARKER' } });
    t.emit(ev.enqueued(op, 1_000));
    t.emit(ev.attemptStarted(op, 1_100, 1));
    t.emit(ev.attemptFailed(op, 1_400, { kind: 'server', status: 503 }, 300, 1));
    t.emit(ev.backoff(op, 1_400, 2_000, true));
    t.emit(ev.attemptStarted(op, 3_400, 2));
    t.emit(ev.attemptSucceeded(op, 3_500, 100, 2, 201));
    t.emit(ev.completed(op, 3_510));

    const [opSpan] = t.named('sync.op');
    const sends = t.named('sync.op.send');
    expect(opSpan).toBeDefined();
    expect(sends).toHaveLength(2);

    expect(opSpan!.kind).toBe(SpanKind.INTERNAL);
    expect(ms(opSpan!.startTime)).toBe(1_000);
    expect(ms(opSpan!.endTime)).toBe(3_510);
    expect(opSpan!.attributes).toEqual({
      'sync.op.type': 'todo.create',
      'sync.op.id': op.id,
      'sync.trace_id': op.traceId,
      'sync.op.outcome': 'committed',
      'sync.op.from_ledger': false,
    });
    expect(opSpan!.events.map((e) => [e.name, e.attributes])).toEqual([
      ['sync.backoff', { 'sync.backoff.delay_ms': 2_000, 'sync.backoff.retry_after': true }],
    ]);

    const [first, second] = sends;
    for (const s of sends) {
      expect(s.kind).toBe(SpanKind.CLIENT);
      expect(s.parentSpanContext?.spanId).toBe(opSpan!.spanContext().spanId);
      expect(s.spanContext().traceId).toBe(opSpan!.spanContext().traceId);
    }
    expect(first!.attributes).toEqual({
      'sync.op.type': 'todo.create',
      'sync.op.attempt': 1,
      'sync.op.outcome': 'failure',
      'sync.error.kind': 'server',
      'error.type': 'server',
      'http.response.status_code': 503,
    });
    expect(first!.status.code).toBe(SpanStatusCode.ERROR);
    expect([ms(first!.startTime), ms(first!.endTime)]).toEqual([1_100, 1_400]);
    expect(second!.attributes).toEqual({
      'sync.op.type': 'todo.create',
      'sync.op.attempt': 2,
      'sync.op.outcome': 'success',
      'http.response.status_code': 201,
    });
    expect(JSON.stringify(t.spans().map((s) => [s.attributes, s.events]))).not.toContain('PAYLOAD-MARKER');
  });

  it('a failed op ends its span in error with the reason and error kind', () => {
    const t = setup();
    const op = makeOp();
    t.emit(ev.enqueued(op, 1_000));
    t.emit(ev.attemptStarted(op, 1_100));
    t.emit(ev.attemptFailed(op, 1_200, { kind: 'permanent', status: 422 }));
    t.emit(ev.failed(failedRecord(op, 'permanent', { kind: 'permanent', status: 422 }, 1_200)));
    const [opSpan] = t.named('sync.op');
    expect(opSpan!.status.code).toBe(SpanStatusCode.ERROR);
    expect(opSpan!.attributes).toMatchObject({
      'sync.op.outcome': 'failed',
      'sync.op.failure_reason': 'permanent',
      'sync.error.kind': 'permanent',
      'http.response.status_code': 422,
    });
  });

  it('an op left from an earlier session starts its span at createdAt, marked resumed', () => {
    const t = setup();
    const op = makeOp({ createdAt: 500, attempts: 1 });
    t.emit(ev.attemptStarted(op, 9_000, 2));
    t.emit(ev.attemptSucceeded(op, 9_050, 50, 2));
    t.emit(ev.completed(op, 9_060));
    const [opSpan] = t.named('sync.op');
    expect(ms(opSpan!.startTime)).toBe(500);
    expect(opSpan!.attributes['sync.op.resumed']).toBe(true);
  });

  it('a lock takeover is a span event on every open op span and a sync.lock.acquire span', () => {
    const t = setup();
    const a = makeOp();
    const b = makeOp();
    t.emit(ev.enqueued(a, 1_000));
    t.emit(ev.enqueued(b, 1_001));
    t.emit(ev.lockAcquired(2_000, true, 9));
    t.emit(ev.lockAcquired(3_000, false, 10));
    t.emit(ev.completed(a, 4_000));
    t.emit(ev.conflict(b, 4_100, 'drop'));

    const locks = t.named('sync.lock.acquire');
    expect(locks.map((s) => s.attributes)).toEqual([
      { 'sync.lock.takeover': true, 'sync.lock.fence': 9 },
      { 'sync.lock.takeover': false, 'sync.lock.fence': 10 },
    ]);
    expect(locks[0]!.events.map((e) => e.name)).toEqual(['sync.lock.takeover']);
    const ops = t.named('sync.op');
    expect(ops.map((s) => s.events.map((e) => e.name))).toEqual([
      ['sync.lock.takeover'],
      ['sync.lock.takeover', 'sync.conflict'],
    ]);
    expect(ops[1]!.attributes['sync.op.outcome']).toBe('dropped');
  });

  it('keeps at most maxOpenOps op spans open (oldest ended as untracked)', () => {
    const t = setup(2);
    const ops = [makeOp(), makeOp(), makeOp()];
    ops.forEach((op, i) => t.emit(ev.enqueued(op, 1_000 + i)));
    expect(t.named('sync.op').map((s) => [s.attributes['sync.op.id'], s.attributes['sync.op.outcome']])).toEqual([
      [ops[0]!.id, 'untracked'],
    ]);
    t.tracing.dispose();
    expect(t.named('sync.op').map((s) => s.attributes['sync.op.outcome'])).toEqual(['untracked', 'suspended', 'suspended']);
  });

  it('contextFor: the attempt span while sending, the op span otherwise, undefined when unknown', () => {
    const t = setup();
    const op = makeOp();
    expect(t.tracing.contextFor(op.id)).toBeUndefined();
    t.emit(ev.enqueued(op, 1_000));
    const opCtx = t.tracing.contextFor(op.id)!;
    t.emit(ev.attemptStarted(op, 1_100));
    const sendCtx = t.tracing.contextFor(op.id)!;
    expect(trace.getSpan(sendCtx)!.spanContext().spanId).not.toBe(trace.getSpan(opCtx)!.spanContext().spanId);
    t.emit(ev.attemptSucceeded(op, 1_200, 100));
    t.emit(ev.completed(op, 1_200));
    const [send] = t.named('sync.op.send');
    expect(trace.getSpan(sendCtx)!.spanContext().spanId).toBe(send!.spanContext().spanId);
    expect(t.tracing.contextFor(op.id)).toBeUndefined();
  });
});

describe('injectTraceHeaders', () => {
  afterEach(() => propagation.disable());

  it('without a registered propagator: headers unchanged (a copy)', () => {
    const t = setup();
    const op = makeOp();
    t.emit(ev.enqueued(op, 1_000));
    t.emit(ev.attemptStarted(op, 1_100));
    const input = { 'Trace-Id': op.traceId };
    const out = injectTraceHeaders(input, t.tracing.contextFor(op.id));
    expect(out).toEqual({ 'Trace-Id': op.traceId });
    expect(out).not.toBe(input);
  });

  it('with the W3C propagator: traceparent of the sync.op.send span, Trace-Id kept', () => {
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    const t = setup();
    const op = makeOp();
    t.emit(ev.enqueued(op, 1_000));
    t.emit(ev.attemptStarted(op, 1_100));
    const headers = injectTraceHeaders({ 'Trace-Id': op.traceId }, t.tracing.contextFor(op.id));
    t.emit(ev.attemptSucceeded(op, 1_200, 100));
    const [send] = t.named('sync.op.send');
    const { traceId, spanId } = send!.spanContext();
    expect(headers).toEqual({ 'Trace-Id': op.traceId, traceparent: `00-${traceId}-${spanId}-01` });
  });

  it('without a context: unchanged', () => {
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    expect(injectTraceHeaders({ a: 'b' }, undefined)).toEqual({ a: 'b' });
  });
});

describe('global tracer provider registered after attachTracing', () => {
  afterEach(() => trace.disable());

  it('spans go to the provider registered later (the API proxy)', () => {
    const events$ = new Subject<EngineEvent>();
    const tracing = attachTracing(events$);
    const exporter = new InMemorySpanExporter();
    trace.setGlobalTracerProvider(new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] }));
    const op = makeOp();
    events$.next(ev.enqueued(op, 1_000));
    events$.next(ev.completed(op, 2_000));
    expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(['sync.op']);
    tracing.dispose();
  });
});
