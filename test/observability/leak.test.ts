import { metrics as otelMetrics, propagation } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { Subject } from 'rxjs';
import { assertSecureBaseUrl } from '../../src/auth/secure-base-url';
import { createTokenManager } from '../../src/auth/token-manager';
import type { EngineEvent } from '../../src/engine/sync-engine';
import {
  AuthError,
  ConflictError,
  MalformedResponseError,
  NetworkError,
  PermanentError,
  RateLimitError,
  ServerError,
  StorageError,
  SyncError,
  TimeoutError,
  ValidationError,
} from '../../src/errors/sync-error';
import { attachLogger } from '../../src/observability/attach-logger';
import { consoleLogger, redactingLogger, type ConsoleLike } from '../../src/log/logger';
import { createMetrics } from '../../src/observability/metrics';
import { attachTracing, injectTraceHeaders } from '../../src/observability/tracing';
import { assertSafePayload } from '../../src/security/payload-guard';
import { captureLogger } from './capture-logger';
import { ev, fakeJwt, makeOp } from './fixtures';

/**
 * The leak test: plant a secret token, an e-mail address and a payload marker
 * in every path we can drive, then assert none of them appears in any log
 * line, error message, metric attribute or span attribute/event/status.
 */
const SECRET = 'sk_live_S3CR3T_9f8e7d';
const JWT = fakeJwt({ sub: 'user-1', exp: 2_000_000_000, note: SECRET });
const EMAIL = 'victim.person@example.com';
const MARKER = 'PAYLOAD_MARKER_51c3';
const NEEDLES = [SECRET, JWT, EMAIL, MARKER, 'victim.person'];

const hostilePayload = {
  title: MARKER,
  owner: EMAIL,
  auth: { token: SECRET, authorization: `Bearer ${JWT}` },
  note: `call me at ${EMAIL}, my token=${SECRET}`,
};

const poisonedCause = () => {
  const inner = new Error(`db row ${MARKER} for ${EMAIL}`);
  return Object.assign(new Error(`upstream said Bearer ${JWT} / password=${SECRET}`, { cause: inner }), {
    response: { body: MARKER, headers: { Authorization: `Bearer ${SECRET}`, 'set-cookie': `sid=${SECRET}` } },
    config: { payload: hostilePayload },
  });
};

/** One of every SyncError class, each carrying a poisoned cause. */
const everyError = (): SyncError[] => [
  new NetworkError({ cause: poisonedCause() }),
  new TimeoutError({ cause: poisonedCause() }),
  new ServerError({ status: 503, cause: poisonedCause() }),
  new RateLimitError({ status: 429, retryAfterMs: 1_000, cause: poisonedCause() }),
  new AuthError({ status: 401, code: 'token_expired', cause: poisonedCause() }),
  new PermanentError({ status: 400, code: 'bad_request', cause: poisonedCause() }),
  new ConflictError({ status: 409, details: hostilePayload, cause: poisonedCause() }),
  new MalformedResponseError({ status: 200, cause: poisonedCause() }),
  new ValidationError('invalidPayload', 'payload.title: expected string', { cause: poisonedCause() }),
  new StorageError('corrupt', { cause: poisonedCause() }),
];

class TestReader extends MetricReader {
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

const assertClean = (label: string, text: string): void => {
  for (const needle of NEEDLES) {
    if (text.includes(needle)) throw new Error(`${label} leaks ${needle.slice(0, 12)}…: ${text.slice(0, 400)}`);
  }
};

afterEach(() => propagation.disable());

describe('no secret, e-mail or payload leaves the engine', () => {
  it('through lifecycle logs, metric attributes and spans on every path', async () => {
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    const events$ = new Subject<EngineEvent>();
    const cap = captureLogger();
    const consoleCalls: unknown[][] = [];
    const fakeConsole: ConsoleLike = {
      debug: (...a) => consoleCalls.push(a),
      info: (...a) => consoleCalls.push(a),
      warn: (...a) => consoleCalls.push(a),
      error: (...a) => consoleCalls.push(a),
    };
    attachLogger(events$, cap);
    attachLogger(events$, consoleLogger(fakeConsole, 'debug'));
    const exporter = new InMemorySpanExporter();
    const tracerProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
    const tracing = attachTracing(events$, { tracerProvider });
    const reader = new TestReader();
    const meterProvider = new MeterProvider({ readers: [reader] });
    const metrics = createMetrics({ events$, meterProvider, memoryUsage: () => 1 });

    const headers: Record<string, string>[] = [];
    const send = (op: ReturnType<typeof makeOp>, at: number, attempt: number) => {
      events$.next(ev.attemptStarted(op, at, attempt));
      headers.push(injectTraceHeaders({ 'Trace-Id': op.traceId }, tracing.contextFor(op.id)));
    };

    // success path (and a replay from the ledger)
    const ok = makeOp({ type: 'note.create', payload: hostilePayload, txToken: SECRET });
    events$.next(ev.enqueued(ok, 1_000));
    events$.next(ev.lockAcquired(1_000, true, 3));
    events$.next(ev.gate(1_000, true));
    send(ok, 1_100, 1);
    events$.next(ev.attemptSucceeded(ok, 1_200, 100, 1, 201));
    events$.next(ev.completed(ok, 1_200, true));

    // every error kind, with poisoned codes, then backoff / conflict / dead letter
    let at = 2_000;
    for (const error of everyError()) {
      const op = makeOp({ payload: hostilePayload, txToken: SECRET });
      const info = { ...error.toInfo(), code: `${error.code ?? 'x'} for ${EMAIL}` };
      events$.next(ev.enqueued(op, at));
      send(op, at + 1, 1);
      events$.next(ev.attemptFailed(op, at + 2, info, 1, 1));
      events$.next(ev.backoff(op, at + 2, 1_000, error.kind === 'rateLimited'));
      if (error.kind === 'conflict') events$.next(ev.conflict(op, at + 3, 'fail'));
      events$.next(
        ev.failed({ id: op.id, reason: 'permanent', error: info, attempts: 1, failedAt: at + 4, op, raw: MARKER }),
      );
      at += 100;
    }

    // auth failure and refresh
    events$.next(ev.authRequired(at));
    events$.next(ev.tokenRefreshed(at + 1));

    // a corrupt record: raw bytes and a detail that (wrongly) quotes a value
    events$.next(
      ev.failed({
        id: 'corrupt-key',
        reason: 'corrupt',
        error: { kind: 'storage', code: 'corrupt' },
        attempts: 0,
        failedAt: at + 2,
        raw: `{"payload":"${MARKER}","token":"${SECRET}"}`,
        detail: `payload.owner: expected number, got "${EMAIL}"`,
      }),
    );
    events$.next(ev.lockLost(at + 3));
    events$.next(ev.lockReleased(at + 4));

    // thrown errors logged by the engine's catch-alls (messages and causes)
    const log = redactingLogger(cap);
    for (const error of everyError()) log.error('sync.drain.error', { error, op: ok, headers: { Authorization: `Bearer ${SECRET}` } });
    log.error(`unexpected: ${poisonedCause().message}`, { error: poisonedCause() });
    log.warn('sync.http', { url: `https://api.example.com/x?access_token=${SECRET}&u=${EMAIL}`, cookie: SECRET });

    // What left the engine
    assertClean('log lines', JSON.stringify(cap.lines));
    assertClean('console lines', JSON.stringify(consoleCalls));
    assertClean('trace headers', JSON.stringify(headers));
    const spans = exporter.getFinishedSpans();
    expect(spans.length).toBeGreaterThan(20);
    assertClean(
      'spans',
      JSON.stringify(spans.map((s) => ({ n: s.name, a: s.attributes, e: s.events, st: s.status, l: s.links }))),
    );
    const { resourceMetrics } = await reader.collect();
    const points = resourceMetrics.scopeMetrics.flatMap((sm) => sm.metrics);
    expect(points.length).toBe(18);
    assertClean('metrics', JSON.stringify(points.map((m) => ({ d: m.descriptor, p: m.dataPoints }))));
    assertClean('metrics$', JSON.stringify(metrics.snapshot()));

    // the planted values were really there to leak, and lines were written
    expect(JSON.stringify(hostilePayload)).toContain(MARKER);
    expect(cap.lines.length).toBeGreaterThan(60);
    expect(cap.lines.some((l) => JSON.stringify(l).includes('[REDACTED]'))).toBe(true);
    expect(cap.lines.some((l) => JSON.stringify(l).includes('[email]'))).toBe(true);

    tracing.dispose();
    metrics.dispose();
    await meterProvider.shutdown();
    otelMetrics.disable();
  });

  it('through error messages the engine itself creates', async () => {
    // each SyncError's own message is fixed text, whatever the cause
    for (const error of everyError()) assertClean(`${error.name}.message`, `${error.message} ${error.userMessage}`);

    // hostile payloads: the detail names the path, never the value
    const cases: unknown[] = [
      { ...hostilePayload, n: 10n },
      { [EMAIL]: { [SECRET]: () => MARKER } },
      { a: [MARKER, undefined] },
      JSON.parse(`{"${MARKER}":{"__proto__":{"x":"${SECRET}"}}}`),
      { big: `${EMAIL}${'x'.repeat(300_000)}` },
      { when: new Date(), who: EMAIL },
    ];
    for (const payload of cases) {
      let thrown: unknown;
      try {
        assertSafePayload(payload);
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(ValidationError);
      const v = thrown as ValidationError;
      assertClean('ValidationError', `${v.message} ${v.detail ?? ''} ${JSON.stringify(v.toInfo())}`);
    }

    // base URL with credentials
    try {
      assertSecureBaseUrl(`https://${EMAIL.replace('@', '%40')}:${SECRET}@api.example.com`);
      throw new Error('expected a ValidationError');
    } catch (e) {
      expect(e).toBeInstanceOf(ValidationError);
      assertClean('assertSecureBaseUrl', String((e as Error).message));
    }

    // auth failure: a refresh rejected with a poisoned error
    const cap = captureLogger();
    const tokens = createTokenManager(
      {
        getToken: () => JWT,
        refreshToken: () => Promise.reject(poisonedCause()),
      },
      { now: () => 0, logger: cap, refreshAhead: false },
    );
    let refreshError: unknown;
    try {
      await tokens.forceRefresh(JWT);
    } catch (e) {
      refreshError = e;
    }
    expect(refreshError).toBeInstanceOf(AuthError);
    assertClean('refresh error message', (refreshError as Error).message);
    expect(cap.lines.map((l) => l.message)).toEqual(['sync.auth.refresh_failed']);
    assertClean('refresh log', JSON.stringify(cap.lines));
  });
});
