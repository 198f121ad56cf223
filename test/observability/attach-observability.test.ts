import { propagation } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { Subject, map } from 'rxjs';
import type { EngineEvent } from '../../src/engine/sync-engine';
import { attachObservability } from '../../src/observability/attach-observability';
import { captureLogger } from './capture-logger';
import { ev, makeOp } from './fixtures';

afterEach(() => propagation.disable());

describe('attachObservability', () => {
  it('wires logs, spans, metrics and request headers to one event stream, and detaches', () => {
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    const events$ = new Subject<EngineEvent>();
    const status$ = new Subject<{ pending: number }>();
    const cap = captureLogger();
    const exporter = new InMemorySpanExporter();
    const tracerProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
    const obs = attachObservability(
      { events$, pendingCount$: status$.pipe(map((s) => s.pending)) },
      { logger: cap, tracerProvider, now: () => 5_000, memoryUsage: () => 1 },
    );
    const op = makeOp({ createdAt: 1_000 });
    events$.next(ev.enqueued(op, 1_000));
    status$.next({ pending: 1 });
    events$.next(ev.attemptStarted(op, 1_100));
    const headers = obs.requestHeaders(op);
    events$.next(ev.attemptSucceeded(op, 1_200, 100));
    events$.next(ev.completed(op, 1_200));
    status$.next({ pending: 0 });

    expect(cap.lines.map((l) => l.message)).toEqual(['sync.op.enqueued', 'sync.op.attempt', 'sync.op.attempt.succeeded', 'sync.op.completed']);
    const send = exporter.getFinishedSpans().find((s) => s.name === 'sync.op.send')!;
    expect(headers).toEqual({ traceparent: `00-${send.spanContext().traceId}-${send.spanContext().spanId}-01` });
    expect(obs.metrics.snapshot()).toMatchObject({ 'sync.processed.success': 1, 'sync.pending_ops.count': 0 });

    obs.log.error('sync.drain.error', { error: new Error('for a@b.io'), Authorization: 'Bearer x' });
    expect(cap.lines[cap.lines.length - 1]).toEqual({
      level: 'error',
      message: 'sync.drain.error',
      fields: { error: { name: 'Error', message: '[REDACTED]' }, Authorization: '[REDACTED]' },
    });

    obs.dispose();
    const before = cap.lines.length;
    events$.next(ev.lockReleased(9_000));
    expect(cap.lines.length).toBe(before);
    expect(obs.requestHeaders(op)).toEqual({});
  });
});
