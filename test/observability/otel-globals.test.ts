import { ProxyTracerProvider, metrics, propagation, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { TracerProvider as BasicTracerProvider } from '@opentelemetry/sdk-trace';
import {
  NOOP_TRACER_PROVIDER,
  ROOT_CONTEXT,
  globalMeterProvider,
  globalPropagator,
  globalTracerProvider,
  isNoopProvider,
  withSpan,
} from '../../src/observability/otel-globals';

// The engine reads what the app registered through its own copy of the API.
describe('otel-globals', () => {
  afterEach(() => {
    trace.disable();
    metrics.disable();
    propagation.disable();
  });

  it('sees the providers and the propagator the app registers, and their removal', () => {
    expect([globalTracerProvider(), globalMeterProvider(), globalPropagator()]).toEqual([undefined, undefined, undefined]);
    const sdk = new BasicTracerProvider();
    const meters = new MeterProvider();
    const w3c = new W3CTraceContextPropagator();
    trace.setGlobalTracerProvider(sdk);
    metrics.setGlobalMeterProvider(meters);
    propagation.setGlobalPropagator(w3c);
    expect(globalTracerProvider()).toBe(trace.getTracerProvider());
    expect((globalTracerProvider() as ProxyTracerProvider).getDelegate()).toBe(sdk);
    expect(globalMeterProvider()).toBe(meters);
    expect(globalPropagator()).toBe(w3c);
    trace.disable();
    expect(globalTracerProvider()).toBeUndefined();
  });

  it('ignores a registry left by an API older than 1.3', () => {
    const key = Symbol.for('opentelemetry.js.api.1');
    const g = globalThis as Record<symbol, unknown>;
    const saved = g[key];
    g[key] = { version: '1.2.0', trace: NOOP_TRACER_PROVIDER };
    try {
      expect(globalTracerProvider()).toBeUndefined();
    } finally {
      g[key] = saved;
    }
  });

  it('makes contexts the API reads as its own', () => {
    const span = new BasicTracerProvider().getTracer('t').startSpan('s');
    const ctx = withSpan(ROOT_CONTEXT, span);
    expect(trace.getSpan(ctx)).toBe(span);
    expect(trace.getSpan(ROOT_CONTEXT)).toBeUndefined();
    expect(trace.getSpan(trace.deleteSpan(ctx))).toBeUndefined();
    span.end();
  });

  it('knows a provider whose spans would all be no-ops', () => {
    const proxy = new ProxyTracerProvider();
    expect(isNoopProvider(NOOP_TRACER_PROVIDER, 'sync-engine', '0.1.0')).toBe(true);
    expect(isNoopProvider(proxy, 'sync-engine', '0.1.0')).toBe(true);
    proxy.setDelegate(new BasicTracerProvider());
    expect(isNoopProvider(proxy, 'sync-engine', '0.1.0')).toBe(false);
    expect(isNoopProvider(new BasicTracerProvider(), 'sync-engine', '0.1.0')).toBe(false);
    expect(NOOP_TRACER_PROVIDER.getTracer('x').startSpan('y').isRecording()).toBe(false);
  });
});
