import { consoleLogger, noopLogger, redactingLogger, type ConsoleLike } from '../../src/log/logger';
import { captureLogger } from '../observability/capture-logger';


function fakeConsole(): ConsoleLike & { calls: Array<[string, unknown[]]> } {
  const calls: Array<[string, unknown[]]> = [];
  return {
    calls,
    debug: (...a: unknown[]) => calls.push(['debug', a]),
    info: (...a: unknown[]) => calls.push(['info', a]),
    warn: (...a: unknown[]) => calls.push(['warn', a]),
    error: (...a: unknown[]) => calls.push(['error', a]),
  };
}

describe('consoleLogger', () => {
  it('writes [sync]-prefixed lines with fields, at or above the minimum level', () => {
    const c = fakeConsole();
    const log = consoleLogger(c, 'info');
    log.debug('sync.op.attempt', { attempt: 1 });
    log.info('sync.op.enqueued', { opId: 'a' });
    log.warn('sync.op.backoff');
    log.error('sync.op.failed', { reason: 'permanent' });
    expect(c.calls).toEqual([
      ['info', ['[sync] sync.op.enqueued', { opId: 'a' }]],
      ['warn', ['[sync] sync.op.backoff']],
      ['error', ['[sync] sync.op.failed', { reason: 'permanent' }]],
    ]);
  });

  it('passes debug lines when asked to', () => {
    const c = fakeConsole();
    consoleLogger(c, 'debug').debug('x');
    expect(c.calls).toEqual([['debug', ['[sync] x']]]);
  });
});

describe('noopLogger', () => {
  it('accepts every level and writes nothing anywhere', () => {
    const spy = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    const spies = (['debug', 'info', 'warn', 'error'] as const).map((l) =>
      jest.spyOn(console, l).mockImplementation(() => undefined),
    );
    noopLogger.debug('a');
    noopLogger.info('a', { x: 1 });
    noopLogger.warn('a');
    noopLogger.error('a');
    expect([spy, ...spies].map((s) => s.mock.calls.length)).toEqual([0, 0, 0, 0, 0]);
    [spy, ...spies].forEach((s) => s.mockRestore());
  });
});

describe('redactingLogger', () => {
  it('redacts message and fields before the inner logger sees them', () => {
    const cap = captureLogger();
    redactingLogger(cap).warn('failed for dan@example.com', { headers: { Authorization: 'Bearer abc' }, n: 1 });
    expect(cap.lines).toEqual([
      { level: 'warn', message: 'failed for [email]', fields: { headers: { Authorization: '[REDACTED]' }, n: 1 } },
    ]);
  });

  it('swallows a throwing logger', () => {
    const throwing = { ...noopLogger, error: () => { throw new Error('disk full'); } };
    expect(() => redactingLogger(throwing).error('x')).not.toThrow();
  });
});
