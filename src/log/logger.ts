import { redactFields, redactString } from './redact';

/** Log levels, lowest first (the spec's DEBUG < INFO < WARN < ERROR). */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Structured fields of a log line (no payloads, no tokens: redacted anyway). */
export type LogFields = Readonly<Record<string, unknown>>;

/**
 * The engine's logging port: four levels, a fixed message (an event name such
 * as `sync.op.completed`) and a structured fields object. Adapt any logger to
 * it in a few lines (see `consoleLogger` and the pino example in
 * `docs/operating.md`).
 *
 * @example
 * const logger: Logger = consoleLogger(console, 'info');
 * logger.info('sync.op.enqueued', { opId, type: 'todo.create' });
 */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

const noop = (): void => undefined;

/** The default logger: no output at all. */
export const noopLogger: Logger = Object.freeze({ debug: noop, info: noop, warn: noop, error: noop });

const LEVEL_ORDER: Readonly<Record<LogLevel, number>> = { debug: 0, info: 1, warn: 2, error: 3 };

/** The subset of `console` the console adapter uses. */
export interface ConsoleLike {
  debug(...args: unknown[]): void;
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

/**
 * A `Logger` writing to `console` (or anything console-shaped), dropping
 * lines below `minLevel`. Lines are `[sync] <message>` plus the fields object.
 *
 * @example
 * const engine = createSyncEngine({ ..., logger: consoleLogger(console, 'info') });
 */
export function consoleLogger(target: ConsoleLike = console, minLevel: LogLevel = 'info'): Logger {
  const make =
    (level: LogLevel) =>
    (message: string, fields?: LogFields): void => {
      if (LEVEL_ORDER[level] < LEVEL_ORDER[minLevel]) return;
      if (fields === undefined) target[level](`[sync] ${message}`);
      else target[level](`[sync] ${message}`, fields);
    };
  return { debug: make('debug'), info: make('info'), warn: make('warn'), error: make('error') };
}

/**
 * Wrap a logger so that every line is redacted (see `redact`) before it
 * reaches it, and so that a throwing logger can never break the engine. The
 * engine wraps the app's logger with this once, at construction: it is the
 * boundary.
 *
 * @example
 * const log = redactingLogger(options.logger ?? noopLogger);
 * log.error('sync.drain.error', { error }); // message, cause: redacted
 */
export function redactingLogger(inner: Logger): Logger {
  if (inner === noopLogger) return noopLogger;
  const make =
    (level: LogLevel) =>
    (message: string, fields?: LogFields): void => {
      try {
        const safeFields = redactFields(fields);
        if (safeFields === undefined) inner[level](redactString(message));
        else inner[level](redactString(message), safeFields);
      } catch {
        // A broken logger must not take the sync pipeline down with it.
      }
    };
  return { debug: make('debug'), info: make('info'), warn: make('warn'), error: make('error') };
}
