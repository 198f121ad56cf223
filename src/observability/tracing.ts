import {
  ProxyTracerProvider,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  defaultTextMapSetter,
  propagation,
  trace,
  type Attributes,
  type Context,
  type HrTime,
  type Span,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';
import type { Observable, Subscription } from 'rxjs';
import type { EngineEvent } from '../engine/sync-engine';
import type { ErrorInfo } from '../errors/sync-error';
import type { PendingOp } from '../op/pending-op';

/** Span names and attribute keys (see `docs/operating.md`). */
export const SPAN_OP = 'sync.op';
export const SPAN_SEND = 'sync.op.send';
export const SPAN_LOCK = 'sync.lock.acquire';
export const EVENT_BACKOFF = 'sync.backoff';
export const EVENT_TAKEOVER = 'sync.lock.takeover';
export const EVENT_CONFLICT = 'sync.conflict';

export const ATTR = {
  opType: 'sync.op.type',
  opId: 'sync.op.id',
  traceId: 'sync.trace_id',
  attempt: 'sync.op.attempt',
  outcome: 'sync.op.outcome',
  resumed: 'sync.op.resumed',
  fromLedger: 'sync.op.from_ledger',
  failureReason: 'sync.op.failure_reason',
  errorKind: 'sync.error.kind',
  errorType: 'error.type',
  statusCode: 'http.response.status_code',
  delayMs: 'sync.backoff.delay_ms',
  retryAfter: 'sync.backoff.retry_after',
  resolution: 'sync.conflict.resolution',
  takeover: 'sync.lock.takeover',
  fence: 'sync.lock.fence',
} as const;

// Epoch ms as HrTime: a plain number below the SDK's time origin would be read
// as a performance.now() offset (which virtual-time tests always are).
const hr = (epochMs: number): HrTime => {
  const seconds = Math.floor(epochMs / 1000);
  return [seconds, Math.round((epochMs - seconds * 1000) * 1e6)];
};

// The API's no-op provider: what a ProxyTracerProvider delegates to until an
// SDK is registered (the same singleton for every proxy of this API copy).
const NOOP_PROVIDER: TracerProvider = new ProxyTracerProvider().getDelegate();

/**
 * True while `provider` is the API's proxy with no SDK behind it: every span
 * it would start is a non-recording no-op. Checked per event (two property
 * reads), so an SDK registered later is seen at the next event.
 */
const isNoopProxy = (provider: TracerProvider): boolean =>
  provider instanceof ProxyTracerProvider && provider.getDelegate() === NOOP_PROVIDER;

const TRACER_NAME = 'sync-engine';
const TRACER_VERSION = '0.1.0';

/** Inputs of `attachTracing`. */
export interface TracingOptions {
  /** Default: the global provider (the API's proxy follows late registration). */
  readonly tracerProvider?: TracerProvider;
  /**
   * Op spans kept open at most (default 1000). Beyond, the oldest is ended
   * with outcome `untracked`, so a 10,000-op queue cannot hold 10,000 spans.
   */
  readonly maxOpenOps?: number;
}

/** Tracing subscriber handle. */
export interface Tracing {
  /**
   * The context to send an op's request in: its current `sync.op.send` span
   * (else its `sync.op` span), for `injectTraceHeaders`. Undefined when the
   * op has no open span.
   */
  contextFor(opId: string): Context | undefined;
  /** Stop listening and end every open span with outcome `suspended`. */
  dispose(): void;
}

interface OpSpans {
  readonly span: Span;
  readonly context: Context;
  attempt?: { readonly span: Span; readonly context: Context };
}

const errorAttributes = (e: ErrorInfo | null | undefined): Attributes => {
  if (!e) return {};
  const a: Attributes = { [ATTR.errorKind]: e.kind, [ATTR.errorType]: e.kind };
  if (e.status !== undefined) a[ATTR.statusCode] = e.status;
  return a;
};

/**
 * Trace every op from the lifecycle events: one `sync.op` span per op from
 * enqueue (or, for an op left over from an earlier session, its `createdAt`)
 * to its final outcome; one child `sync.op.send` span (kind CLIENT) per
 * attempt with op type, attempt, outcome, error kind and HTTP status — never
 * the payload; span events for backoff waits (`sync.backoff`), conflicts and
 * lock takeovers (`sync.lock.takeover`, also a `sync.lock.acquire` span).
 * Span times are the events' `at`, so virtual time works in tests.
 *
 * Contexts are passed explicitly (browsers have no AsyncLocalStorage): the
 * pipeline asks `contextFor(op.id)` after emitting `attemptStarted` and hands
 * it to `injectTraceHeaders`.
 *
 * @example
 * const tracing = attachTracing(engine.events$);
 * const headers = injectTraceHeaders({ 'Trace-Id': op.traceId }, tracing.contextFor(op.id));
 */
export function attachTracing(events$: Observable<EngineEvent>, options: TracingOptions = {}): Tracing {
  const maxOpen = Math.max(1, options.maxOpenOps ?? 1000);
  const open = new Map<string, OpSpans>();
  // One tracer per provider, not one `getTracer` per event (the global proxy
  // provider makes a new ProxyTracer on every call until an SDK registers).
  // Keyed by the provider object: a new global provider gets a new tracer,
  // and a ProxyTracer itself follows an SDK registered later.
  let cached: { readonly provider: TracerProvider; readonly tracer: Tracer } | undefined;
  const tracer = (): Tracer => {
    const provider = options.tracerProvider ?? trace.getTracerProvider();
    if (cached === undefined || cached.provider !== provider) {
      cached = { provider, tracer: provider.getTracer(TRACER_NAME, TRACER_VERSION) };
    }
    return cached.tracer;
  };

  const endOp = (id: string, atMs: number | undefined, attributes: Attributes, error: boolean): void => {
    const spans = open.get(id);
    if (spans === undefined) return;
    open.delete(id);
    const at = atMs === undefined ? undefined : hr(atMs);
    if (spans.attempt !== undefined) spans.attempt.span.end(at);
    spans.span.setAttributes(attributes);
    if (error) spans.span.setStatus({ code: SpanStatusCode.ERROR });
    spans.span.end(at);
  };

  const startOp = (op: PendingOp, at: number, resumed: boolean): OpSpans => {
    const existing = open.get(op.id);
    if (existing !== undefined) return existing;
    while (open.size >= maxOpen) {
      const oldest = open.keys().next().value as string;
      endOp(oldest, at, { [ATTR.outcome]: 'untracked' }, false);
    }
    const span = tracer().startSpan(
      SPAN_OP,
      {
        kind: SpanKind.INTERNAL,
        startTime: hr(resumed ? op.createdAt : at),
        attributes: {
          [ATTR.opType]: op.type,
          [ATTR.opId]: op.id,
          [ATTR.traceId]: op.traceId,
          ...(resumed ? { [ATTR.resumed]: true } : {}),
        },
      },
      ROOT_CONTEXT,
    );
    const spans: OpSpans = { span, context: trace.setSpan(ROOT_CONTEXT, span) };
    open.set(op.id, spans);
    return spans;
  };

  const endAttempt = (id: string, at: number, attributes: Attributes, error: boolean): void => {
    const spans = open.get(id);
    const attempt = spans?.attempt;
    if (spans === undefined || attempt === undefined) return;
    spans.attempt = undefined;
    attempt.span.setAttributes(attributes);
    if (error) attempt.span.setStatus({ code: SpanStatusCode.ERROR });
    attempt.span.end(hr(at));
  };

  const onEvent = (e: EngineEvent): void => {
    switch (e.type) {
      case 'enqueued':
        startOp(e.op, e.at, false);
        break;
      case 'attemptStarted': {
        const spans = startOp(e.op, e.at, true);
        if (spans.attempt !== undefined) endAttempt(e.op.id, e.at, { [ATTR.outcome]: 'abandoned' }, false);
        const span = tracer().startSpan(
          SPAN_SEND,
          {
            kind: SpanKind.CLIENT,
            startTime: hr(e.at),
            attributes: { [ATTR.opType]: e.op.type, [ATTR.attempt]: e.attempt },
          },
          spans.context,
        );
        spans.attempt = { span, context: trace.setSpan(spans.context, span) };
        break;
      }
      case 'attemptSucceeded':
        endAttempt(e.op.id, e.at, { [ATTR.outcome]: 'success', [ATTR.statusCode]: e.status }, false);
        break;
      case 'attemptFailed':
        endAttempt(e.op.id, e.at, { [ATTR.outcome]: 'failure', ...errorAttributes(e.error) }, true);
        break;
      case 'backoff':
        open.get(e.op.id)?.span.addEvent(EVENT_BACKOFF, { [ATTR.delayMs]: e.delayMs, [ATTR.retryAfter]: e.retryAfter }, hr(e.at));
        break;
      case 'completed':
        endOp(e.op.id, e.at, { [ATTR.outcome]: 'committed', [ATTR.fromLedger]: e.fromLedger }, false);
        break;
      case 'failed':
        endOp(
          e.record.id,
          e.at,
          { [ATTR.outcome]: 'failed', [ATTR.failureReason]: e.record.reason, ...errorAttributes(e.record.error) },
          true,
        );
        break;
      case 'conflict':
        open.get(e.op.id)?.span.addEvent(EVENT_CONFLICT, { [ATTR.resolution]: e.resolution }, hr(e.at));
        if (e.resolution === 'drop') endOp(e.op.id, e.at, { [ATTR.outcome]: 'dropped' }, false);
        break;
      case 'cancelled':
        endOp(e.op.id, e.at, { [ATTR.outcome]: 'cancelled' }, false);
        break;
      case 'lockAcquired': {
        const attributes = { [ATTR.takeover]: e.takeover, [ATTR.fence]: e.fencingToken };
        const span = tracer().startSpan(SPAN_LOCK, { startTime: hr(e.at), attributes }, ROOT_CONTEXT);
        if (e.takeover) {
          span.addEvent(EVENT_TAKEOVER, { [ATTR.fence]: e.fencingToken }, hr(e.at));
          for (const spans of open.values()) spans.span.addEvent(EVENT_TAKEOVER, { [ATTR.fence]: e.fencingToken }, hr(e.at));
        }
        span.end(hr(e.at));
        break;
      }
      case 'lockLost':
      case 'lockError':
      case 'lockReleased':
      case 'authRequired':
      case 'tokenRefreshed':
      case 'gate':
        break;
    }
  };

  const subscription: Subscription = events$.subscribe({
    next: (e) => {
      // No SDK registered and no span left open from when one was: every
      // span would be a no-op, so skip building spans and attributes. The op
      // then has no context (`contextFor` is undefined), which injects the
      // same headers as a non-recording span's invalid context: none.
      if (open.size === 0 && isNoopProxy(options.tracerProvider ?? trace.getTracerProvider())) return;
      try {
        onEvent(e);
      } catch {
        // Tracing must never break the event stream's other subscribers.
      }
    },
  });

  return {
    contextFor: (opId) => {
      const spans = open.get(opId);
      return spans?.attempt?.context ?? spans?.context;
    },
    dispose: () => {
      subscription.unsubscribe();
      for (const id of [...open.keys()]) endOp(id, undefined, { [ATTR.outcome]: 'suspended' }, false);
    },
  };
}

/**
 * Add W3C trace-context headers (`traceparent`, `tracestate`) for `context`
 * through the app's registered propagator (`propagation.setGlobalPropagator`).
 * Without a propagator, or without a context, the headers come back
 * unchanged. Returns a new object; the input is not mutated. The op's own
 * `Trace-Id` header is set by the API client from `op.traceId`.
 *
 * @example
 * const headers = injectTraceHeaders({ 'Trace-Id': op.traceId }, tracing.contextFor(op.id));
 */
export function injectTraceHeaders(
  headers: Readonly<Record<string, string>>,
  context: Context | undefined,
): Record<string, string> {
  const out: Record<string, string> = { ...headers };
  if (context === undefined) return out;
  try {
    propagation.inject(context, out, defaultTextMapSetter);
  } catch {
    // A faulty propagator must not prevent the request.
  }
  return out;
}
