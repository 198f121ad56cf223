import type { Attributes, Context, TracerProvider } from '@opentelemetry/api';
import type { Observable, Subscription } from 'rxjs';
import type { EngineEvent } from '../engine/sync-engine';
import type { ErrorInfo } from '../errors/sync-error';
import { OpSpanBook, TRACER_NAME, TRACER_VERSION, hr } from './op-span-book';
import { NOOP_TRACER_PROVIDER, ROOT_CONTEXT, globalPropagator, globalTracerProvider, isNoopProvider, textMapSetter } from './otel-globals';
import { ATTR, EVENT_BACKOFF, EVENT_CONFLICT, EVENT_TAKEOVER, SPAN_LOCK } from './span-names';

export { SPAN_OP, SPAN_SEND, SPAN_LOCK, EVENT_BACKOFF, EVENT_TAKEOVER, EVENT_CONFLICT, ATTR } from './span-names';

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
  const provider = (): TracerProvider => options.tracerProvider ?? globalTracerProvider() ?? NOOP_TRACER_PROVIDER;
  const book = new OpSpanBook(provider, Math.max(1, options.maxOpenOps ?? 1000));
  const subscription: Subscription = events$.subscribe({
    next: (e) => {
      // No SDK registered and no span left open from when one was: every
      // span would be a no-op, so skip building spans and attributes. The op
      // then has no context (`contextFor` is undefined), which injects the
      // same headers as a non-recording span's invalid context: none.
      if (book.size === 0 && isNoopProvider(provider(), TRACER_NAME, TRACER_VERSION)) return;
      try {
        traceEvent(book, e);
      } catch {
        // Tracing must never break the event stream's other subscribers.
      }
    },
  });

  return {
    contextFor: (opId) => book.contextFor(opId),
    dispose: () => {
      subscription.unsubscribe();
      book.endAll({ [ATTR.outcome]: 'suspended' });
    },
  };
}

/** What one engine event does to the spans. */
function traceEvent(book: OpSpanBook, e: EngineEvent): void {
  switch (e.type) {
    case 'enqueued':
      book.startOp(e.op, e.at, false);
      break;
    case 'attemptStarted':
      book.startAttempt(e.op, e.at, e.attempt);
      break;
    case 'attemptSucceeded':
      book.endAttempt(e.op.id, e.at, { [ATTR.outcome]: 'success', [ATTR.statusCode]: e.status }, false);
      break;
    case 'attemptFailed':
      book.endAttempt(e.op.id, e.at, { [ATTR.outcome]: 'failure', ...errorAttributes(e.error) }, true);
      break;
    case 'backoff':
      book.opSpan(e.op.id)?.addEvent(EVENT_BACKOFF, { [ATTR.delayMs]: e.delayMs, [ATTR.retryAfter]: e.retryAfter }, hr(e.at));
      break;
    case 'completed':
      book.endOp(e.op.id, e.at, { [ATTR.outcome]: 'committed', [ATTR.fromLedger]: e.fromLedger }, false);
      break;
    case 'failed': {
      const attributes = { [ATTR.outcome]: 'failed', [ATTR.failureReason]: e.record.reason, ...errorAttributes(e.record.error) };
      book.endOp(e.record.id, e.at, attributes, true);
      break;
    }
    case 'conflict':
      book.opSpan(e.op.id)?.addEvent(EVENT_CONFLICT, { [ATTR.resolution]: e.resolution }, hr(e.at));
      if (e.resolution === 'drop') book.endOp(e.op.id, e.at, { [ATTR.outcome]: 'dropped' }, false);
      break;
    case 'cancelled':
      book.endOp(e.op.id, e.at, { [ATTR.outcome]: 'cancelled' }, false);
      break;
    case 'lockAcquired':
      traceLock(book, e.at, e.takeover, e.fencingToken);
      break;
    case 'lockLost':
    case 'lockError':
    case 'lockReleased':
    case 'authRequired':
    case 'tokenRefreshed':
    case 'gate':
      break;
  }
}

/** A `sync.lock.acquire` span; a takeover is also marked on every open op. */
function traceLock(book: OpSpanBook, at: number, takeover: boolean, fence: number): void {
  const span = book.tracer().startSpan(SPAN_LOCK, { startTime: hr(at), attributes: { [ATTR.takeover]: takeover, [ATTR.fence]: fence } }, ROOT_CONTEXT);
  if (takeover) {
    span.addEvent(EVENT_TAKEOVER, { [ATTR.fence]: fence }, hr(at));
    for (const opSpan of book.opSpans()) opSpan.addEvent(EVENT_TAKEOVER, { [ATTR.fence]: fence }, hr(at));
  }
  span.end(hr(at));
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
    globalPropagator()?.inject(context, out, textMapSetter);
  } catch {
    // A faulty propagator must not prevent the request.
  }
  return out;
}
