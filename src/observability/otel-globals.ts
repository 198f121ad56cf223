import type {
  Context,
  MeterProvider,
  Span,
  SpanContext,
  SpanKind,
  SpanStatusCode,
  TextMapPropagator,
  TextMapSetter,
  Tracer,
  TracerProvider,
} from '@opentelemetry/api';

/**
 * What the engine needs of the OpenTelemetry API at run time, without
 * importing `@opentelemetry/api` (~10 KB minified in a browser bundle that
 * may never trace): the providers and the propagator the app registered,
 * read from the API's own global registry; contexts the SDK reads as its
 * own; the two enum values used. Only types come from the package.
 *
 * The registry is the object every copy of API 1.x keeps at
 * `globalThis[Symbol.for('opentelemetry.js.api.1')]`, `{ version, trace,
 * metrics, propagation, … }`: `trace.setGlobalTracerProvider(sdk)` puts the
 * API's proxy there (delegating to `sdk`), `metrics.setGlobalMeterProvider`
 * and `propagation.setGlobalPropagator` the app's objects, `disable()`
 * removes them. Reading it is what the API's `getGlobal` does; versions
 * before 1.3 (the peer dependency's floor) are ignored.
 */

const REGISTRY = Symbol.for('opentelemetry.js.api.1');

interface Registry {
  readonly version?: unknown;
  readonly trace?: TracerProvider;
  readonly metrics?: MeterProvider;
  readonly propagation?: TextMapPropagator;
}

function registry(): Registry | undefined {
  const r = (globalThis as Record<symbol, Registry | undefined>)[REGISTRY];
  const minor = typeof r?.version === 'string' ? /^1\.(\d+)\./.exec(r.version)?.[1] : undefined;
  return minor !== undefined && Number(minor) >= 3 ? r : undefined;
}

/** The app's global TracerProvider (the API's proxy), if one is registered. */
export const globalTracerProvider = (): TracerProvider | undefined => registry()?.trace;

/** The app's global MeterProvider, if one is registered. */
export const globalMeterProvider = (): MeterProvider | undefined => registry()?.metrics;

/** The app's global propagator, if one is registered. */
export const globalPropagator = (): TextMapPropagator | undefined => registry()?.propagation;

/** The API's `defaultTextMapSetter`: sets `carrier[key] = value`. */
export const textMapSetter: TextMapSetter<Record<string, string>> = {
  set: (carrier, key, value) => {
    carrier[key] = value;
  },
};

/** `SpanKind.INTERNAL`, `SpanKind.CLIENT`, `SpanStatusCode.ERROR` (stable numbers of the spec's enums). */
export const SPAN_KIND_INTERNAL = 0 as SpanKind;
export const SPAN_KIND_CLIENT = 2 as SpanKind;
export const SPAN_STATUS_ERROR = 2 as SpanStatusCode;

// The API's context key for the active span (`createContextKey` is `Symbol.for`).
const SPAN_KEY = Symbol.for('OpenTelemetry Context Key SPAN');

/** An immutable context as the API's `BaseContext`: a copy-on-write map. */
class EngineContext implements Context {
  readonly #values: ReadonlyMap<symbol, unknown>;

  constructor(values: ReadonlyMap<symbol, unknown> = new Map()) {
    this.#values = values;
  }

  getValue(key: symbol): unknown {
    return this.#values.get(key);
  }

  setValue(key: symbol, value: unknown): Context {
    return new EngineContext(new Map(this.#values).set(key, value));
  }

  deleteValue(key: symbol): Context {
    const values = new Map(this.#values);
    values.delete(key);
    return new EngineContext(values);
  }
}

/** The empty context (the API's `ROOT_CONTEXT`). */
export const ROOT_CONTEXT: Context = new EngineContext();

/**
 * `context` with `span` as its span (the API's `trace.setSpan`): what the
 * SDK reads as the parent, and a propagator as the span to inject.
 *
 * @example
 * const ctx = withSpan(ROOT_CONTEXT, span);
 */
export const withSpan = (context: Context, span: Span): Context => context.setValue(SPAN_KEY, span);

const INVALID_SPAN_CONTEXT: SpanContext = { traceId: '0'.repeat(32), spanId: '0'.repeat(16), traceFlags: 0 };

/** A span that records nothing (what the API's no-op tracer returns). */
const NOOP_SPAN: Span = {
  spanContext: () => INVALID_SPAN_CONTEXT,
  setAttribute: () => NOOP_SPAN,
  setAttributes: () => NOOP_SPAN,
  addEvent: () => NOOP_SPAN,
  addLink: () => NOOP_SPAN,
  addLinks: () => NOOP_SPAN,
  setStatus: () => NOOP_SPAN,
  updateName: () => NOOP_SPAN,
  end: () => undefined,
  isRecording: () => false,
  recordException: () => undefined,
};

/** The provider used while none is registered: every span a no-op. */
export const NOOP_TRACER_PROVIDER: TracerProvider = {
  getTracer: () => ({ startSpan: () => NOOP_SPAN }) as unknown as Tracer,
};

/**
 * True while spans from `provider` would all be no-ops: the engine's own
 * no-op provider, or the API's proxy with no SDK behind it yet (its
 * `getDelegateTracer` answers nothing). Checked per event, so an SDK
 * registered later is seen at the next event.
 */
export function isNoopProvider(provider: TracerProvider, name: string, version: string): boolean {
  if (provider === NOOP_TRACER_PROVIDER) return true;
  const proxy = provider as { getDelegateTracer?: (name: string, version?: string) => Tracer | undefined };
  return typeof proxy.getDelegateTracer === 'function' && proxy.getDelegateTracer(name, version) === undefined;
}
