import { marbles } from 'rxjs-marbles/jest';
import { Observable, firstValueFrom } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { createApiClient, type ApiClient } from '../../src/api/api-client';
import { BATCH_MISMATCH } from '../../src/api/batch-answer';
import type { BatchEntryResult, BatchRequest } from '../../src/api/batch-types';
import type { HttpTransport } from '../../src/api/http-transport';
import {
  AuthError,
  ConflictError,
  MalformedResponseError,
  NetworkError,
  PermanentError,
  RateLimitError,
  RedirectError,
  ServerError,
  SyncError,
  TimeoutError,
  ValidationError,
} from '../../src/errors/sync-error';
import { ScriptedTransport, fail, hang, networkError, raw, type ScriptStep } from '../support/scripted-transport';

const KEYS = ['9b2f5a8e-4a3c-4f7e-9a55-2f1f0c3f1a11', '1c6e1d1e-2b6f-4b1a-8e4f-0d8f0a2b3c4d', '5e0c4c1a-7d2b-4c9e-b1f0-3a2d1e0f9c8b'];
const request: BatchRequest = {
  path: '/batch',
  token: 'secret-token',
  entries: [
    { method: 'POST', path: '/todos', body: { id: 'a', title: 'x' }, idempotencyKey: KEYS[0]!, traceId: 'tr-0' },
    { method: 'PATCH', path: '/todos/a', body: { done: true }, idempotencyKey: KEYS[1]!, traceId: 'tr-1' },
    { method: 'DELETE', path: '/todos/b', idempotencyKey: KEYS[2]!, traceId: 'tr-2' },
  ],
};

/** A 200 batch answer with these results. */
const results = (list: readonly unknown[], afterMs = 10, headers: Record<string, string> = {}): ScriptStep => ({
  kind: 'respond',
  status: 200,
  body: JSON.stringify({ results: list }),
  headers: { 'content-type': 'application/json', ...headers },
  afterMs,
});

const clientOn = (transport: HttpTransport, scheduler: TestScheduler | undefined, requestTimeoutMs = 1000): ApiClient =>
  createApiClient({ baseUrl: 'https://api.test/v1', transport, ...(scheduler ? { scheduler } : {}), requestTimeoutMs });

/** Run one batch on a scripted server in virtual time; the outcome and the recorded requests. */
function runBatch(steps: ScriptStep[], req: BatchRequest = request) {
  const scheduler = new TestScheduler((a, b) => expect(a).toEqual(b));
  const server = new ScriptedTransport(scheduler).script(...steps);
  let value: readonly BatchEntryResult[] | undefined;
  let error: unknown;
  let completed = false;
  scheduler.run(() => {
    clientOn(server.transport, scheduler).sendBatch(req).subscribe({
      next: (v) => (value = v),
      error: (e: unknown) => (error = e),
      complete: () => (completed = true),
    });
  });
  return { value, error, completed, server };
}

describe('ApiClient.sendBatch: the wire request', () => {
  test(
    'POSTs { ops: [{ idempotencyKey, traceId, method, path, body }] } to the batch path with Authorization; no batch-level key or trace id',
    marbles((m) => {
      const server = new ScriptedTransport(m.scheduler).script(results([{ status: 201, data: {} }, { status: 200, data: {} }, { status: 204 }], 30));
      const api = clientOn(server.transport, m.scheduler);
      const req = { ...request, headers: { traceparent: '00-abc-def-01', 'Idempotency-Key': 'forged', authorization: 'forged' } };
      m.expect(api.sendBatch(req)).toBeObservable('30ms (r|)', {
        r: [
          { kind: 'ok', response: { status: 201, data: {} } },
          { kind: 'ok', response: { status: 200, data: {} } },
          { kind: 'ok', response: { status: 204, data: null } },
        ],
      });
      m.flush();
      const sent = server.requests[0]!.request;
      expect(sent.method).toBe('POST');
      expect(sent.url).toBe('https://api.test/v1/batch');
      expect(sent.headers).toEqual({
        traceparent: '00-abc-def-01',
        Accept: 'application/json',
        Authorization: 'Bearer secret-token',
        'Content-Type': 'application/json',
      });
      expect(JSON.parse(sent.body!)).toEqual({
        ops: [
          { idempotencyKey: KEYS[0], traceId: 'tr-0', method: 'POST', path: '/todos', body: { id: 'a', title: 'x' } },
          { idempotencyKey: KEYS[1], traceId: 'tr-1', method: 'PATCH', path: '/todos/a', body: { done: true } },
          { idempotencyKey: KEYS[2], traceId: 'tr-2', method: 'DELETE', path: '/todos/b' },
        ],
      });
    }),
  );

  test('no token → no Authorization header', () => {
    const { server } = runBatch([results([{ status: 200, data: 1 }, { status: 200, data: 2 }, { status: 200, data: 3 }])], { ...request, token: null });
    expect(server.requests[0]!.request.headers.Authorization).toBeUndefined();
  });

  test('an extra header fetch would refuse fails the batch with ValidationError, nothing sent', () => {
    const { error, server } = runBatch([], { ...request, headers: { 'X-Bad': 'a\r\nb' } });
    expect(error).toBeInstanceOf(ValidationError);
    expect(server.requests).toHaveLength(0);
  });
});

describe('ApiClient.sendBatch: one result per entry, in order, classified as single responses', () => {
  test('every per-entry status class', () => {
    const entries = Array.from({ length: 10 }, (_, i) => ({ method: 'POST', path: '/todos', body: { i }, idempotencyKey: `k${i}`, traceId: `t${i}` }));
    const { value, error, completed } = runBatch(
      [
        results(
          [
            { status: 201, data: { id: 'a' } },
            { status: 400, error: { code: 'bad_request', message: 'x' } },
            { status: 409, error: { code: 'version_conflict', details: { currentVersion: 3 } } },
            { status: 404, error: { code: 'not_found' } },
            { status: 401, error: { code: 'token_expired' } },
            { status: 409, error: { code: 'idempotency_key_in_use' }, retryAfter: 1 },
            { status: 429, error: { code: 'rate_limited' }, retryAfter: 5 },
            { status: 503, error: { code: 'server_error' } },
            { status: 424, error: { code: 'failed_dependency' } },
            { status: 424 },
          ],
          10,
          { Date: 'Wed, 21 Oct 2015 07:28:00 GMT' },
        ),
      ],
      { ...request, entries },
    );
    expect(error).toBeUndefined();
    expect(completed).toBe(true);
    const r = value!;
    expect(r).toHaveLength(10);
    expect(r[0]).toEqual({ kind: 'ok', response: { status: 201, data: { id: 'a' } } });
    const errorOf = (x: BatchEntryResult | undefined): SyncError => (x?.kind === 'error' ? x.error : (undefined as never));
    expect(errorOf(r[1])).toBeInstanceOf(PermanentError);
    expect(errorOf(r[1]).toInfo()).toEqual({ kind: 'permanent', status: 400, code: 'bad_request' });
    expect(errorOf(r[2])).toBeInstanceOf(ConflictError);
    expect((errorOf(r[2]) as ConflictError).details).toEqual({ currentVersion: 3 });
    expect(errorOf(r[3])).toBeInstanceOf(PermanentError);
    expect(errorOf(r[4])).toBeInstanceOf(AuthError);
    expect(errorOf(r[5])).toBeInstanceOf(ServerError);
    expect(errorOf(r[5])).toMatchObject({ status: 409, code: 'idempotency_key_in_use', consumesAttempt: false, retryAfterMs: 1000 });
    expect(errorOf(r[6])).toBeInstanceOf(RateLimitError);
    expect(errorOf(r[6]).retryAfterMs).toBe(5000);
    expect(errorOf(r[7])).toBeInstanceOf(ServerError);
    expect(errorOf(r[7]).consumesAttempt).toBe(true);
    expect(r[8]).toEqual({ kind: 'notApplied' });
    expect(r[9]).toEqual({ kind: 'notApplied' });
  });
});

describe('ApiClient.sendBatch: whole-request outcomes error exactly as send does', () => {
  const cases: ReadonlyArray<readonly [string, ScriptStep, new (...a: never[]) => SyncError, Record<string, unknown>]> = [
    ['network failure', networkError(), NetworkError, {}],
    ['500', fail(500), ServerError, { status: 500 }],
    ['502 HTML page', raw(502, '<html>bad gateway</html>'), ServerError, { status: 502 }],
    ['503 with Retry-After', fail(503, { headers: { 'Retry-After': '4' } }), RateLimitError, { status: 503, retryAfterMs: 4000 }],
    ['429 with Retry-After', fail(429, { headers: { 'Retry-After': '30' } }), RateLimitError, { status: 429, retryAfterMs: 30_000 }],
    ['401', fail(401, { code: 'token_expired' }), AuthError, { status: 401, code: 'token_expired' }],
    ['307 redirect', { kind: 'respond', status: 307, body: '', headers: { location: 'https://evil.test/batch' }, afterMs: 10 }, RedirectError, { status: 307 }],
    ['400', fail(400, { code: 'bad_request' }), PermanentError, { status: 400, code: 'bad_request' }],
    ['413: a PermanentError with status 413 (split the batch)', fail(413, { code: 'batch_too_large' }), PermanentError, { status: 413, code: 'batch_too_large' }],
  ];
  test.each(cases)('%s', (_name, step, type, fields) => {
    const { error, value } = runBatch([step]);
    expect(value).toBeUndefined();
    expect(error).toBeInstanceOf(type);
    expect(error).toMatchObject(fields);
  });

  test(
    'a batch that does not answer within requestTimeoutMs: TimeoutError, the request aborted',
    marbles((m) => {
      const server = new ScriptedTransport(m.scheduler).script(hang());
      const api = clientOn(server.transport, m.scheduler, 100);
      m.expect(api.sendBatch(request)).toBeObservable('100ms #', undefined, new TimeoutError({ code: 'client_timeout' }));
      m.flush();
      expect(server.requests[0]!.abortedAt).toBe(100);
    }),
  );

  test(
    'unsubscribing aborts the batch request',
    marbles((m) => {
      const server = new ScriptedTransport(m.scheduler).script(hang());
      const api = clientOn(server.transport, m.scheduler);
      m.expect(api.sendBatch(request), '50ms !').toBeObservable('');
      m.flush();
      expect(server.requests[0]!.abortedAt).toBe(50);
    }),
  );
});

describe('ApiClient.sendBatch: an answer that cannot be matched to the request → MalformedResponseError batchMismatch', () => {
  const three = [{ status: 200, data: 1 }, { status: 200, data: 2 }, { status: 200, data: 3 }];
  const cases: ReadonlyArray<readonly [string, ScriptStep]> = [
    ['not JSON', raw(200, 'OK')],
    ['an empty 200', raw(200, '')],
    ['a 204 without a body', raw(204, '')],
    ['a single-op envelope instead of results', raw(200, JSON.stringify({ data: three }))],
    ['results not an array', raw(200, JSON.stringify({ results: { 0: three[0] } }))],
    ['a JSON array', raw(200, JSON.stringify(three))],
    ['fewer results than entries', results(three.slice(0, 2))],
    ['more results than entries', results([...three, { status: 200, data: 4 }])],
    ['an entry without a status', results([three[0], { data: 2 }, three[2]])],
    ['an entry whose status is a string', results([three[0], { status: '200', data: 2 }, three[2]])],
    ['an entry whose status is not a whole number', results([three[0], { status: 200.5, data: 2 }, three[2]])],
    ['an entry whose status is out of range', results([three[0], { status: 99, data: 2 }, three[2]])],
    ['an entry that is not an object', results([three[0], null, three[2]])],
    ['a retryAfter that is neither a number nor a string', results([three[0], { status: 429, retryAfter: [1] }, three[2]])],
    ['a 201 with results of the wrong length', { ...results(three.slice(1)), status: 201 } as ScriptStep],
  ];
  test.each(cases)('%s', (_name, step) => {
    const { error, value } = runBatch([step]);
    expect(value).toBeUndefined();
    expect(error).toBeInstanceOf(MalformedResponseError);
    expect((error as SyncError).code).toBe(BATCH_MISMATCH);
    expect((error as SyncError).toInfo()).toEqual({ kind: 'malformedResponse', status: (step as { status: number }).status, code: 'batchMismatch' });
  });

  test('a 2xx past maxResponseBytes: batchMismatch (every outcome unknown)', async () => {
    const transport: HttpTransport = () =>
      new Observable((s) => {
        s.next({ status: 200, headers: { get: () => null }, bodyText: '', bodyOverLimit: true });
        s.complete();
      });
    const err = await firstValueFrom(clientOn(transport, undefined).sendBatch(request)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MalformedResponseError);
    expect((err as SyncError).code).toBe(BATCH_MISMATCH);
  });

  test('an empty batch answered with empty results is matched (zero entries)', () => {
    const { value, error } = runBatch([results([])], { ...request, entries: [] });
    expect(error).toBeUndefined();
    expect(value).toEqual([]);
  });
});

describe('ApiClient.sendBatch over fetch', () => {
  test('reads the batch through the same fetch transport (redirect: manual, body read as text)', async () => {
    const seen: { url?: string; init?: RequestInit } = {};
    const fetchFn = async (url: string, init: RequestInit): Promise<Response> => {
      seen.url = url;
      seen.init = init;
      return new Response(JSON.stringify({ results: [{ status: 201, data: { id: 'a' } }, { status: 424 }, { status: 424 }] }), {
        status: 200,
        headers: { 'content-type': 'application/json' },
      });
    };
    const api = createApiClient({ baseUrl: 'http://127.0.0.1:9', fetch: fetchFn });
    const out = await firstValueFrom(api.sendBatch(request));
    expect(out).toEqual([{ kind: 'ok', response: { status: 201, data: { id: 'a' } } }, { kind: 'notApplied' }, { kind: 'notApplied' }]);
    expect(seen.url).toBe('http://127.0.0.1:9/batch');
    expect(seen.init?.redirect).toBe('manual');
    expect(seen.init?.signal).toBeDefined();
  });
});
