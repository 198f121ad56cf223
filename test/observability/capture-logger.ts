import type { LogFields, LogLevel, Logger } from '../../src/log/logger';

export interface Captured {
  readonly level: LogLevel;
  readonly message: string;
  readonly fields?: LogFields;
}

/** A Logger that records every line, for assertions. */
export function captureLogger(): Logger & { readonly lines: Captured[] } {
  const lines: Captured[] = [];
  const make =
    (level: LogLevel) =>
    (message: string, fields?: LogFields): void => {
      lines.push(fields === undefined ? { level, message } : { level, message, fields });
    };
  return { lines, debug: make('debug'), info: make('info'), warn: make('warn'), error: make('error') };
}
