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

/**
 * The log line for a lifecycle event, at the spec's level: ERROR for
 * permanent failures, WARN for transient failures and retry decisions, INFO
 * for the op lifecycle and lock events, DEBUG for detailed flow. Only ids,
 * op type, counts, durations and error summaries, never the payload.
 */
export function logLineFor(event: EngineEvent): LogLine {
  switch (event.type) {
    case 'enqueued':
      return { level: 'info', message: 'sync.op.enqueued', fields: { ...opFields(event.op), createdAt: event.op.createdAt } };
    case 'attemptStarted':
      return { level: 'debug', message: 'sync.op.attempt', fields: { ...opFields(event.op), attempt: event.attempt } };
    case 'attemptSucceeded':
      return {
        level: 'debug',
        message: 'sync.op.attempt.succeeded',
        fields: { ...opFields(event.op), attempt: event.attempt, status: event.status, durationMs: event.durationMs },
      };
    case 'attemptFailed':
      return {
        level: ERROR_BUCKET[event.error.kind] === 'transient' ? 'warn' : 'error',
        message: 'sync.op.attempt.failed',
        fields: { ...opFields(event.op), attempt: event.attempt, durationMs: event.durationMs, ...errorFields(event.error) },
      };
    case 'backoff':
      return {
        level: 'warn',
        message: 'sync.op.backoff',
        fields: { ...opFields(event.op), attempts: event.op.attempts, delayMs: event.delayMs, retryAfter: event.retryAfter },
      };
    case 'completed':
      return {
        level: 'info',
        message: 'sync.op.completed',
        fields: { ...opFields(event.op), fromLedger: event.fromLedger, ageMs: event.at - event.op.createdAt },
      };
    case 'failed': {
      const r = event.record;
      return {
        level: 'error',
        message: 'sync.op.failed',
        fields: {
          opId: r.id,
          type: r.op?.type,
          traceId: r.op?.traceId,
          reason: r.reason,
          attempts: r.attempts,
          ...errorFields(r.error),
          // `detail` names field paths only (formatDecodeErrors); redacted anyway.
          detail: r.detail,
        },
      };
    }
    case 'conflict':
      return { level: 'warn', message: 'sync.op.conflict', fields: { ...opFields(event.op), resolution: event.resolution } };
    case 'cancelled':
      return { level: 'info', message: 'sync.op.cancelled', fields: { ...opFields(event.op), attempts: event.op.attempts } };
    case 'lockAcquired':
      return {
        level: event.takeover ? 'warn' : 'info',
        message: event.takeover ? 'sync.lock.takeover' : 'sync.lock.acquired',
        // "fence", not "fencingToken": keys named like tokens are redacted.
        fields: { fence: event.fencingToken, takeover: event.takeover },
      };
    case 'lockLost':
      return { level: 'warn', message: 'sync.lock.lost', fields: {} };
    case 'lockError':
      return { level: 'error', message: 'sync.lock.error', fields: { ...errorFields(event.error) } };
    case 'lockReleased':
      return { level: 'info', message: 'sync.lock.released', fields: {} };
    case 'authRequired':
      return { level: 'warn', message: 'sync.auth.required', fields: {} };
    case 'tokenRefreshed':
      return { level: 'info', message: 'sync.auth.refreshed', fields: {} };
    case 'gate':
      return {
        level: 'debug',
        message: event.open ? 'sync.gate.open' : 'sync.gate.closed',
        fields: { blockedBy: event.blockedBy },
      };
  }
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
