import { propagation } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import * as t from 'io-ts';
import localforage from 'localforage';
import { firstValueFrom, filter, map, type Subscription } from 'rxjs';
import { generateStoreKey } from '../../src/crypto/record-cipher';
import { defineMemoryDriver } from '../../src/drivers/memory-driver';
import { createSyncEngine } from '../../src/create-sync-engine';
import type { EngineStatus, OpResult } from '../../src/engine/sync-engine';
import { ValidationError } from '../../src/errors/sync-error';
import { nodeAesGcm } from '../../src/node/node-aes-gcm';
import { createOpId } from '../../src/op/ids';
import { defineRoutes } from '../../src/router/op-router';
import { createOpStore } from '../../src/store/create-op-store';
import { captureLogger } from './capture-logger';
import { fakeJwt } from './fixtures';

/**
 * The leak test on a real engine run: the real pipeline, API client, error
 * classification, token manager and encrypted store, with a scripted `fetch`
 * whose answers, errors and refresh failures are full of a secret token, a
 * JWT, an e-mail address and a payload marker. Nothing of them may reach a
 * log line, span, metric, trace header, status, result error or message.
 */
const SECRET = 'sk_live_ENGINE_S3CR3T_77aa';
const EMAIL = 'leaky.user@example.org';
const MARKER = 'PAYLOAD_MARKER_ENGINE_9c1d';
const jwt = (n: number) => fakeJwt({ sub: EMAIL, exp: 4_000_000_000, n, s: SECRET });
const NEEDLES = [SECRET, EMAIL, MARKER, jwt(1), jwt(2), 'leaky.user'];

const routes = defineRoutes({
  'note.create': {
    method: 'POST',
    path: '/notes',
    payload: t.type({ id: t.string, title: t.string, owner: t.string }),
    response: t.unknown,
  },
});

class TestReader extends MetricReader {
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}): Response =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
const poisonedBody = { error: { code: `bad ${EMAIL}`, message: `row ${MARKER} token=${SECRET}`, details: { owner: EMAIL, title: MARKER } } };

/** Answers per payload id; each array is consumed in order, the last answer repeats. */
const script: Record<string, Array<() => Response>> = {
  ok: [() => json(201, { data: { echo: MARKER, owner: EMAIL } })],
  e500: [() => json(500, poisonedBody), () => json(201, { data: {} })],
  e429: [() => json(429, poisonedBody, { 'retry-after': '1' }), () => json(201, { data: {} })],
  e401: [() => json(401, poisonedBody), () => json(201, { data: {} })],
  e400: [() => json(400, poisonedBody)],
  e409: [() => json(409, poisonedBody)],
  malformed: [() => new Response(`<html>${MARKER} ${EMAIL} ${SECRET}</html>`, { status: 200 })],
  network: [
    () => {
      throw new TypeError(`connect ECONNREFUSED for ${EMAIL} Authorization: Bearer ${SECRET}`);
    },
    () => json(201, { data: {} }),
  ],
  authfail: [() => json(401, poisonedBody)],
};

const assertClean = (label: string, value: unknown): void => {
  const text = JSON.stringify(value) ?? '';
  for (const needle of NEEDLES) {
    if (text.includes(needle)) throw new Error(`${label} leaks ${needle.slice(0, 14)}…: ${text.slice(0, 600)}`);
  }
};

afterEach(() => propagation.disable());

describe('no secret, e-mail or payload leaves a real engine run', () => {
  let subs: Subscription[] = [];
  afterEach(() => subs.forEach((s) => s.unsubscribe()));

  it('success, every error kind, 401 refresh, auth failure, corrupt record, hostile input', async () => {
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    const driver = await defineMemoryDriver();
    const name = `leak-${createOpId()}`;
    const store = await createOpStore({ name, driver, encryptionKey: await generateStoreKey(), aesGcm: nodeAesGcm });

    // A corrupt record at the head of the queue, its raw bytes full of secrets.
    const pendingTable = localforage.createInstance({ name, storeName: 'pending_ops', driver });
    await pendingTable.setItem(createOpId(), `{"payload":"${MARKER}","owner":"${EMAIL}","token":"${SECRET}"}`);

    const seen: string[] = [];
    const requests: Array<Record<string, string>> = [];
    const calls: Record<string, number> = {};
    const fetch = async (_url: string, init: RequestInit): Promise<Response> => {
      const id = (JSON.parse(String(init.body)) as { id: string }).id;
      requests.push({ ...(init.headers as Record<string, string>) });
      const n = (calls[id] = (calls[id] ?? 0) + 1);
      seen.push(id);
      const answers = script[id]!;
      return answers[Math.min(n, answers.length) - 1]!();
    };

    let token = jwt(1);
    let refreshes = 0;
    const auth = {
      getToken: () => token,
      refreshToken: async () => {
        refreshes += 1;
        if (refreshes === 1) {
          token = jwt(2);
          return token;
        }
        throw Object.assign(new Error(`refresh denied for ${EMAIL}: refresh_token=${SECRET}`), {
          cause: new Error(`idp said ${MARKER}`),
          response: { body: poisonedBody },
        });
      },
    };

    const obsLog = captureLogger();
    const exporter = new InMemorySpanExporter();
    const tracerProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
    const reader = new TestReader();
    const meterProvider = new MeterProvider({ readers: [reader] });
    const engine = createSyncEngine({
      baseUrl: 'https://api.example.test',
      routes,
      store,
      auth,
      fetch,
      online$: undefined,
      backoff: { baseMs: 2, capMs: 5, maxAttempts: 3, maxRetryAfterMs: 10 },
      lock: { heartbeatMs: 50, staleAfterMs: 300, settleMs: 5 },
      // The engine wires logging, tracing and metrics itself.
      logger: obsLog,
      tracerProvider,
      meterProvider,
      metricsSampleIntervalMs: 60_000,
    });
    const results: OpResult[] = [];
    const statuses: EngineStatus[] = [];
    subs = [engine.results$.subscribe((r) => results.push(r)), engine.status$.subscribe((s) => statuses.push(s))];

    // hostile input is refused at enqueue, typed, with a clean message
    for (const payload of [
      { id: 'x', title: MARKER, owner: EMAIL, n: 10n },
      JSON.parse(`{"id":"x","title":"t","owner":"o","__proto__":{"${EMAIL}":"${SECRET}"}}`),
      { id: 'x', title: 't', owner: 'o', [EMAIL]: { [SECRET]: () => 1 } },
    ]) {
      const err = await engine.enqueue({ type: 'note.create', payload }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      assertClean('enqueue error', { m: (err as Error).message, d: (err as ValidationError).detail });
    }

    const ids = ['ok', 'e500', 'e429', 'e401', 'e400', 'e409', 'malformed', 'network', 'authfail'];
    for (const id of ids) await engine.enqueue({ type: 'note.create', payload: { id, title: MARKER, owner: EMAIL } });
    engine.start();

    await firstValueFrom(engine.status$.pipe(filter((s) => s.authRequired)));
    expect(results.map((r) => [r.outcome, r.error?.kind])).toEqual([
      ['committed', undefined], // ok
      ['committed', undefined], // e500, then 201
      ['committed', undefined], // e429, then 201
      ['committed', undefined], // e401, refreshed, then 201
      ['failed', 'permanent'], // e400
      ['conflict', 'conflict'], // e409 (reconcile default: fail)
      ['failed', 'malformedResponse'],
      ['committed', undefined], // network error, then 201
    ]);
    expect(seen).toContain('authfail');
    expect(refreshes).toBe(2);
    const live = await firstValueFrom(engine.metrics$);
    expect(live['sync.pending_ops.count']).toBe(1); // authfail waits for credentials
    expect(live['sync.processed.success']).toBe(5);
    expect(live['sync.retry_after.count']).toBe(1);
    expect(live['sync.processor.active']).toBe(0); // gate closed: authRequired
    const { resourceMetrics } = await reader.collect();
    await engine.dispose();
    const metricData = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics);
    const spans = exporter.getFinishedSpans();

    // every path really ran and was observed…
    const messages = new Set(obsLog.lines.map((l) => l.message));
    for (const m of ['sync.op.enqueued', 'sync.op.completed', 'sync.op.failed', 'sync.op.attempt.failed', 'sync.op.backoff', 'sync.auth.required', 'sync.lock.acquired']) {
      expect(messages).toContain(m);
    }
    expect(obsLog.lines.some((l) => l.fields?.['reason'] === 'corrupt')).toBe(true);
    expect(obsLog.lines.some((l) => l.message === 'sync.auth.refresh_failed')).toBe(true);
    expect(spans.filter((s) => s.name === 'sync.op.send').length).toBeGreaterThanOrEqual(12);
    expect(requests.every((h) => /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/.test(h['traceparent'] ?? ''))).toBe(true);
    expect(metricData.find((m) => m.descriptor.name === 'sync.errors.network')?.dataPoints[0]?.value).toBe(1);
    expect(metricData.find((m) => m.descriptor.name === 'sync.processed.failed')?.dataPoints[0]?.value).toBeGreaterThanOrEqual(3);

    // …and nothing leaked
    assertClean('logger lines', obsLog.lines);
    assertClean('spans', spans.map((s) => ({ n: s.name, a: s.attributes, e: s.events, st: s.status })));
    assertClean('metrics', metricData.map((m) => ({ d: m.descriptor, p: m.dataPoints })));
    assertClean('metrics$', live);
    assertClean('status$', statuses);
    assertClean('result errors and messages', results.map((r) => ({ e: r.error, m: r.message, reason: r.reason })));
    // trace headers go to the server: only ids, never the token (Authorization is separate)
    assertClean('trace headers', requests.map((h) => ({ t: h['traceparent'], id: h['Trace-Id'] })));
    await meterProvider.shutdown();
  });
});
