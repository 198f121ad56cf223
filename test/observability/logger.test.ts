import { Subject } from 'rxjs';
import type { EngineEvent } from '../../src/engine/sync-engine';
import { attachLogger, logLineFor } from '../../src/observability/attach-logger';
import { consoleLogger, noopLogger, redactingLogger, type ConsoleLike } from '../../src/observability/logger';
import { captureLogger } from './capture-logger';
import { ev, failedRecord, makeOp } from './fixtures';

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

describe('logLineFor: the spec levels', () => {
  const op = makeOp();
  const cases: Array<[string, EngineEvent, string, string]> = [
    ['enqueue', ev.enqueued(op), 'info', 'sync.op.enqueued'],
    ['attempt start', ev.attemptStarted(op, 2_000), 'debug', 'sync.op.attempt'],
    ['attempt success', ev.attemptSucceeded(op, 2_100, 100), 'debug', 'sync.op.attempt.succeeded'],
    ['transient failure', ev.attemptFailed(op, 2_100, { kind: 'server', status: 503 }), 'warn', 'sync.op.attempt.failed'],
    ['network failure', ev.attemptFailed(op, 2_100, { kind: 'network' }), 'warn', 'sync.op.attempt.failed'],
    ['rate limited', ev.attemptFailed(op, 2_100, { kind: 'rateLimited', status: 429 }), 'warn', 'sync.op.attempt.failed'],
    ['auth failure', ev.attemptFailed(op, 2_100, { kind: 'auth', status: 401 }), 'warn', 'sync.op.attempt.failed'],
    ['permanent failure', ev.attemptFailed(op, 2_100, { kind: 'permanent', status: 400 }), 'error', 'sync.op.attempt.failed'],
    ['conflict attempt', ev.attemptFailed(op, 2_100, { kind: 'conflict', status: 409 }), 'error', 'sync.op.attempt.failed'],
    ['backoff', ev.backoff(op, 2_100, 400), 'warn', 'sync.op.backoff'],
    ['complete', ev.completed(op, 2_200), 'info', 'sync.op.completed'],
    ['fail', ev.failed(failedRecord(op, 'permanent', { kind: 'permanent', status: 400 }, 2_200)), 'error', 'sync.op.failed'],
    ['conflict', ev.conflict(op, 2_200, 'fail'), 'warn', 'sync.op.conflict'],
    ['lock acquired', ev.lockAcquired(1), 'info', 'sync.lock.acquired'],
    ['lock takeover', ev.lockAcquired(1, true), 'warn', 'sync.lock.takeover'],
    ['lock lost', ev.lockLost(1), 'warn', 'sync.lock.lost'],
    ['lock record unreadable', ev.lockError(1), 'error', 'sync.lock.error'],
    ['lock released', ev.lockReleased(1), 'info', 'sync.lock.released'],
    ['auth required', ev.authRequired(1), 'warn', 'sync.auth.required'],
    ['token refreshed', ev.tokenRefreshed(1), 'info', 'sync.auth.refreshed'],
    ['gate', ev.gate(1, false), 'debug', 'sync.gate.closed'],
  ];
  it.each(cases)('%s', (_name, event, level, message) => {
    const line = logLineFor(event);
    expect(line.level).toBe(level);
    expect(line.message).toBe(message);
  });
});

describe('attachLogger', () => {
  it('logs each event once with ids, never the payload, and detaches on unsubscribe', () => {
    const events$ = new Subject<EngineEvent>();
    const cap = captureLogger();
    const op = makeOp({ payload: { secretNote: 'PAYLOAD-MARKER' } });
    const sub = attachLogger(events$, cap);
    events$.next(ev.enqueued(op, 1_000));
    events$.next(ev.attemptFailed(op, 1_500, { kind: 'server', status: 503 }, 480));
    events$.next(ev.backoff(op, 1_500, 2_000, true));
    events$.next(ev.lockAcquired(1_600, true, 42));
    sub.unsubscribe();
    events$.next(ev.completed(op, 5_000));

    expect(cap.lines).toEqual([
      {
        level: 'info',
        message: 'sync.op.enqueued',
        fields: { at: 1_000, opId: op.id, type: 'todo.create', traceId: op.traceId, createdAt: 1_000 },
      },
      {
        level: 'warn',
        message: 'sync.op.attempt.failed',
        fields: { at: 1_500, opId: op.id, type: 'todo.create', traceId: op.traceId, attempt: 1, durationMs: 480, errorKind: 'server', status: 503 },
      },
      {
        level: 'warn',
        message: 'sync.op.backoff',
        fields: { at: 1_500, opId: op.id, type: 'todo.create', traceId: op.traceId, attempts: 0, delayMs: 2_000, retryAfter: true },
      },
      { level: 'warn', message: 'sync.lock.takeover', fields: { at: 1_600, fence: 42, takeover: true } },
    ]);
    expect(JSON.stringify(cap.lines)).not.toContain('PAYLOAD-MARKER');
  });

  it('keeps logging after the logger throws', () => {
    const events$ = new Subject<EngineEvent>();
    let calls = 0;
    const flaky = {
      ...noopLogger,
      info: () => {
        calls += 1;
        throw new Error('boom');
      },
    };
    attachLogger(events$, flaky);
    events$.next(ev.lockReleased(1));
    events$.next(ev.lockReleased(2));
    expect(calls).toBe(2);
  });
});
