import { Subject } from 'rxjs';
import type { EngineEvent } from '../../src/engine/sync-engine';
import { attachLogger, logLineFor } from '../../src/observability/attach-logger';
import { noopLogger } from '../../src/log/logger';
import { captureLogger } from './capture-logger';
import { ev, failedRecord, makeOp } from './fixtures';

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
