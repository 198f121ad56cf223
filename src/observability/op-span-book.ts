import type { Attributes, Context, HrTime, Span, Tracer, TracerProvider } from '@opentelemetry/api';
import type { PendingOp } from '../op/pending-op';
import { ROOT_CONTEXT, SPAN_KIND_CLIENT, SPAN_KIND_INTERNAL, SPAN_STATUS_ERROR, withSpan } from './otel-globals';
import { ATTR, SPAN_OP, SPAN_SEND } from './span-names';

/** The tracer's instrumentation scope. */
export const TRACER_NAME = 'sync-engine';
export const TRACER_VERSION = '0.1.0';

/** Epoch ms as HrTime: a plain number below the SDK's time origin would be
 * read as a performance.now() offset (which virtual-time tests always are). */
export const hr = (epochMs: number): HrTime => {
  const seconds = Math.floor(epochMs / 1000);
  return [seconds, Math.round((epochMs - seconds * 1000) * 1e6)];
};

interface OpSpans {
  readonly span: Span;
  readonly context: Context;
  attempt?: { readonly span: Span; readonly context: Context };
}

/**
 * The open spans of `attachTracing`: one `sync.op` span per op, at most
 * `maxOpen` (beyond, the oldest ends with outcome `untracked`), each with at
 * most one open `sync.op.send` child. Times are epoch ms from the events.
 *
 * @example
 * const book = new OpSpanBook(() => globalTracerProvider() ?? NOOP_TRACER_PROVIDER, 1000);
 * book.startAttempt(op, at, 1);
 * book.endOp(op.id, at + 5, { [ATTR.outcome]: 'committed' }, false);
 */
export class OpSpanBook {
  readonly #open = new Map<string, OpSpans>();
  readonly #provider: () => TracerProvider;
  readonly #maxOpen: number;
  #cached: { readonly provider: TracerProvider; readonly tracer: Tracer } | undefined;

  constructor(provider: () => TracerProvider, maxOpen: number) {
    this.#provider = provider;
    this.#maxOpen = maxOpen;
  }

  get size(): number {
    return this.#open.size;
  }

  /** The `sync.op` span of `id`, if open. */
  opSpan(id: string): Span | undefined {
    return this.#open.get(id)?.span;
  }

  /** Every open `sync.op` span. */
  opSpans(): Span[] {
    return [...this.#open.values()].map((s) => s.span);
  }

  /** The op's current `sync.op.send` context, else its `sync.op` context. */
  contextFor(id: string): Context | undefined {
    const spans = this.#open.get(id);
    return spans?.attempt?.context ?? spans?.context;
  }

  // One tracer per provider, not one `getTracer` per event (the global proxy
  // provider makes a new ProxyTracer on every call until an SDK registers).
  // Keyed by the provider object: a new global provider gets a new tracer,
  // and a ProxyTracer itself follows an SDK registered later.
  tracer(): Tracer {
    const provider = this.#provider();
    if (this.#cached === undefined || this.#cached.provider !== provider) {
      this.#cached = { provider, tracer: provider.getTracer(TRACER_NAME, TRACER_VERSION) };
    }
    return this.#cached.tracer;
  }

  /** The op's span, started now (`resumed`: at its `createdAt`) unless open. */
  startOp(op: PendingOp, at: number, resumed: boolean): OpSpans {
    const existing = this.#open.get(op.id);
    if (existing !== undefined) return existing;
    while (this.#open.size >= this.#maxOpen) {
      const oldest = this.#open.keys().next().value as string;
      this.endOp(oldest, at, { [ATTR.outcome]: 'untracked' }, false);
    }
    const attributes: Attributes = { [ATTR.opType]: op.type, [ATTR.opId]: op.id, [ATTR.traceId]: op.traceId };
    if (resumed) attributes[ATTR.resumed] = true;
    const startTime = hr(resumed ? op.createdAt : at);
    const span = this.tracer().startSpan(SPAN_OP, { kind: SPAN_KIND_INTERNAL, startTime, attributes }, ROOT_CONTEXT);
    const spans: OpSpans = { span, context: withSpan(ROOT_CONTEXT, span) };
    this.#open.set(op.id, spans);
    return spans;
  }

  /** A new `sync.op.send` child; a still-open one ends `abandoned`. */
  startAttempt(op: PendingOp, at: number, attempt: number): void {
    const spans = this.startOp(op, at, true);
    if (spans.attempt !== undefined) this.endAttempt(op.id, at, { [ATTR.outcome]: 'abandoned' }, false);
    const span = this.tracer().startSpan(
      SPAN_SEND,
      { kind: SPAN_KIND_CLIENT, startTime: hr(at), attributes: { [ATTR.opType]: op.type, [ATTR.attempt]: attempt } },
      spans.context,
    );
    spans.attempt = { span, context: withSpan(spans.context, span) };
  }

  endAttempt(id: string, at: number, attributes: Attributes, error: boolean): void {
    const spans = this.#open.get(id);
    const attempt = spans?.attempt;
    if (spans === undefined || attempt === undefined) return;
    spans.attempt = undefined;
    attempt.span.setAttributes(attributes);
    if (error) attempt.span.setStatus({ code: SPAN_STATUS_ERROR });
    attempt.span.end(hr(at));
  }

  /** End the op's span (and an open attempt) at `atMs` (undefined: now). */
  endOp(id: string, atMs: number | undefined, attributes: Attributes, error: boolean): void {
    const spans = this.#open.get(id);
    if (spans === undefined) return;
    this.#open.delete(id);
    const at = atMs === undefined ? undefined : hr(atMs);
    if (spans.attempt !== undefined) spans.attempt.span.end(at);
    spans.span.setAttributes(attributes);
    if (error) spans.span.setStatus({ code: SPAN_STATUS_ERROR });
    spans.span.end(at);
  }

  /** End every open span now with `attributes`. */
  endAll(attributes: Attributes): void {
    for (const id of [...this.#open.keys()]) this.endOp(id, undefined, attributes, false);
  }
}
