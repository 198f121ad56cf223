import { Subscription, type Observable } from 'rxjs';
import type { EngineEvent } from '../engine/sync-engine';
import type { ErrorInfo } from '../errors/sync-error';
import type { PendingOp } from '../op/pending-op';
import { ERROR_BUCKET } from './error-buckets';
import { noopLogger, redactingLogger, type LogFields, type LogLevel, type Logger } from '../log/logger';

/** One log line: level, fixed message (event name) and fields. */
export interface LogLine {
  readonly level: LogLevel;
  readonly message: string;
  readonly fields: LogFields;
}

const opFields = (op: PendingOp): LogFields => ({ opId: op.id, type: op.type, traceId: op.traceId });

// Only the structured summary: an ErrorInfo never holds server text or values.
const errorFields = (e: ErrorInfo | null | undefined): LogFields =>
  e ? { errorKind: e.kind, status: e.status, code: e.code, retryAfterMs: e.retryAfterMs } : {};

type LineBuilders = { readonly [K in EngineEvent['type']]: (event: Extract<EngineEvent, { type: K }>) => LogLine };

const line = (level: LogLevel, message: string, fields: LogFields = {}): LogLine => ({ level, message, fields });

/** One line builder per event type, at the spec's level. */
const LINE_BUILDERS: LineBuilders = {
  enqueued: (e) => line('info', 'sync.op.enqueued', { ...opFields(e.op), createdAt: e.op.createdAt }),
  attemptStarted: (e) => line('debug', 'sync.op.attempt', { ...opFields(e.op), attempt: e.attempt }),
  attemptSucceeded: (e) =>
    line('debug', 'sync.op.attempt.succeeded', { ...opFields(e.op), attempt: e.attempt, status: e.status, durationMs: e.durationMs }),
  attemptFailed: (e) =>
    line(ERROR_BUCKET[e.error.kind] === 'transient' ? 'warn' : 'error', 'sync.op.attempt.failed', {
      ...opFields(e.op),
      attempt: e.attempt,
      durationMs: e.durationMs,
      ...errorFields(e.error),
    }),
  backoff: (e) =>
    line('warn', 'sync.op.backoff', { ...opFields(e.op), attempts: e.op.attempts, delayMs: e.delayMs, retryAfter: e.retryAfter }),
  completed: (e) => line('info', 'sync.op.completed', { ...opFields(e.op), fromLedger: e.fromLedger, ageMs: e.at - e.op.createdAt }),
  failed: ({ record: r }) =>
    line('error', 'sync.op.failed', {
      opId: r.id,
      type: r.op?.type,
      traceId: r.op?.traceId,
      reason: r.reason,
      attempts: r.attempts,
      ...errorFields(r.error),
      // `detail` names field paths only (formatDecodeErrors); redacted anyway.
      detail: r.detail,
    }),
  conflict: (e) => line('warn', 'sync.op.conflict', { ...opFields(e.op), resolution: e.resolution }),
  cancelled: (e) => line('info', 'sync.op.cancelled', { ...opFields(e.op), attempts: e.op.attempts }),
  lockAcquired: (e) =>
    line(e.takeover ? 'warn' : 'info', e.takeover ? 'sync.lock.takeover' : 'sync.lock.acquired', {
      // "fence", not "fencingToken": keys named like tokens are redacted.
      fence: e.fencingToken,
      takeover: e.takeover,
    }),
  lockLost: () => line('warn', 'sync.lock.lost'),
  lockError: (e) => line('error', 'sync.lock.error', { ...errorFields(e.error) }),
  lockReleased: () => line('info', 'sync.lock.released'),
  authRequired: () => line('warn', 'sync.auth.required'),
  tokenRefreshed: () => line('info', 'sync.auth.refreshed'),
  gate: (e) => line('debug', e.open ? 'sync.gate.open' : 'sync.gate.closed', { blockedBy: e.blockedBy }),
};

/**
 * The log line for a lifecycle event, at the spec's level: ERROR for
 * permanent failures, WARN for transient failures and retry decisions, INFO
 * for the op lifecycle and lock events, DEBUG for detailed flow. Only ids,
 * op type, counts, durations and error summaries, never the payload.
 * An event type this version does not know (a newer engine) has no line:
 * `undefined` at run time.
 */
export function logLineFor(event: EngineEvent): LogLine {
  if (!Object.prototype.hasOwnProperty.call(LINE_BUILDERS, event.type)) return undefined as unknown as LogLine;
  return (LINE_BUILDERS[event.type] as (e: EngineEvent) => LogLine)(event);
}

/**
 * Log every lifecycle event through `logger` (wrapped by `redactingLogger`,
 * so every line is redacted and a throwing logger is harmless). Returns the
 * subscription; unsubscribe to detach. With `noopLogger` (the engine's
 * default) it does not subscribe at all: no line would reach anyone.
 *
 * @example
 * const sub = attachLogger(engine.events$, consoleLogger(console, 'info'));
 */
export function attachLogger(events$: Observable<EngineEvent>, logger: Logger): Subscription {
  const log = redactingLogger(logger);
  // No logger (the default): nothing would be written, so build no lines.
  if (log === noopLogger) return new Subscription();
  return events$.subscribe({
    next: (event) => {
      let line: LogLine | undefined;
      try {
        line = logLineFor(event);
      } catch {
        line = undefined;
      }
      if (line === undefined) return; // an unknown event from a newer engine: skip, never die
      const fields: Record<string, unknown> = { at: event.at };
      for (const [k, v] of Object.entries(line.fields)) if (v !== undefined) fields[k] = v;
      log[line.level](line.message, fields);
    },
    error: (err: unknown) => log.error('sync.events.error', { error: err }),
  });
}
