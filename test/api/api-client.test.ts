import { marbles } from 'rxjs-marbles/jest';
import { asyncScheduler, firstValueFrom } from 'rxjs';
import { createApiClient, type ApiRequest } from '../../src/api/api-client';
import { fetchTransport } from '../../src/api/http-transport';
import { NetworkError, RateLimitError, ServerError, TimeoutError, ValidationError } from '../../src/errors/sync-error';
import { ScriptedTransport, fail, hang, networkError, ok } from '../support/scripted-transport';

const request: ApiRequest = {
  method: 'POST',
  path: '/todos',
  body: { id: '1', title: 'x' },
  token: 'secret-token',
  idempotencyKey: '9b2f5a8e-4a3c-4f7e-9a55-2f1f0c3f1a11',
  traceId: '0c3a5d0e-6f6b-4b7e-8f5e-5a0f3e2d1c9b',
};

describe('createApiClient', () => {
  test.each(['http://api.example.com', 'ftp://127.0.0.1', 'not a url', 'https://user:pw@api.example.com'])(
    'refuses %s at construction',
    (baseUrl) => {
      let err: unknown;
      try {
        createApiClient({ baseUrl });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ValidationError);
      expect(err).toMatchObject({ reason: 'invalidOptions' });
      expect(String((err as Error).message)).not.toContain('user:pw');
    },
  );

  test.each(['https://api.example.com', 'http://127.0.0.1:8080', 'http://127.9.9.9', 'http://localhost:3000', 'http://[::1]:8080'])(
    'accepts %s',
    (baseUrl) => {
      expect(() => createApiClient({ baseUrl })).not.toThrow();
    },
  );

  test(
    'sends the JSON body with Authorization, Idempotency-Key, Trace-Id and Content-Type, and returns the envelope data',
    marbles((m) => {
      const server = new ScriptedTransport(m.scheduler);
      server.script(ok({ id: '1' }, 30, 201));
      const api = createApiClient({ baseUrl: 'https://api.test/v1/', transport: server.transport, scheduler: m.scheduler });
      m.expect(api.send({ ...request, headers: { traceparent: '00-abc-def-01', Authorization: 'ignored' } })).toBeObservable('30ms (r|)', {
        r: { status: 201, data: { id: '1' } },
      });
      m.flush();
      const [sent] = server.requests;
      expect(sent!.request).toEqual({
        method: 'POST',
        url: 'https://api.test/v1/todos',
        body: '{"id":"1","title":"x"}',
        headers: {
          traceparent: '00-abc-def-01',
          Accept: 'application/json',
          Authorization: 'Bearer secret-token',
          'Idempotency-Key': request.idempotencyKey,
          'Trace-Id': request.traceId,
          'Content-Type': 'application/json',
        },
      });
    }),
  );

  test(
    'no token → no Authorization header; no body → no Content-Type',
    marbles((m) => {
      const server = new ScriptedTransport(m.scheduler);
      const api = createApiClient({ baseUrl: 'https://api.test', transport: server.transport, scheduler: m.scheduler });
      api.send({ ...request, method: 'DELETE', path: 'todos/1', body: undefined, token: null }).subscribe();
      m.flush();
      const headers = server.requests[0]!.request.headers;
      expect(headers.Authorization).toBeUndefined();
      expect(headers['Content-Type']).toBeUndefined();
      expect(server.requests[0]!.request.url).toBe('https://api.test/todos/1');
    }),
  );

  test(
    "extra headers never replace or add the engine's own, whatever their case, even where the engine sends none",
    marbles((m) => {
      const server = new ScriptedTransport(m.scheduler);
      const api = createApiClient({ baseUrl: 'https://api.test', transport: server.transport, scheduler: m.scheduler });
      const forged = {
        authorization: 'Bearer forged',
        'IDEMPOTENCY-KEY': 'forged',
        'trace-id': 'forged',
        'content-type': 'text/plain',
        ACCEPT: 'text/html',
        'X-Tenant': 't1',
      };
      // No token and no body: the engine sends no Authorization and no Content-Type.
      api.send({ ...request, method: 'DELETE', body: undefined, token: null, headers: forged }).subscribe();
      api.send({ ...request, headers: forged }).subscribe();
      m.flush();
      expect(server.requests.map((r) => r.request.headers)).toEqual([
        { 'X-Tenant': 't1', Accept: 'application/json', 'Idempotency-Key': request.idempotencyKey, 'Trace-Id': request.traceId },
        {
          'X-Tenant': 't1',
          Accept: 'application/json',
          Authorization: 'Bearer secret-token',
          'Idempotency-Key': request.idempotencyKey,
          'Trace-Id': request.traceId,
          'Content-Type': 'application/json',
        },
      ]);
    }),
  );

  test.each<[string, Record<string, string>]>([
    ['a value with CR LF (header injection)', { 'X-A': 'v\r\nX-Injected: 1' }],
    ['a name with a space', { 'X A': 'v' }],
    ['a value outside Latin-1', { 'X-A': '\u2603' }],
  ])('a header fetch would refuse (%s) fails the request with ValidationError; nothing is sent', (_name, headers) => {
    const server = new ScriptedTransport(asyncScheduler);
    const api = createApiClient({ baseUrl: 'https://api.test', transport: server.transport });
    let err: unknown;
    api.send({ ...request, headers }).subscribe({ error: (e: unknown) => (err = e) });
    expect(err).toBeInstanceOf(ValidationError);
    expect(err).toMatchObject({ reason: 'invalidOptions' });
    expect(server.requests).toHaveLength(0);
  });

  test(
    'times out on the injected scheduler: the request is aborted and a TimeoutError emitted',
    marbles((m) => {
      const server = new ScriptedTransport(m.scheduler);
      server.script(hang());
      const api = createApiClient({
        baseUrl: 'https://api.test',
        transport: server.transport,
        scheduler: m.scheduler,
        requestTimeoutMs: 100,
      });
      m.expect(api.send(request)).toBeObservable('100ms #', undefined, new TimeoutError({ code: 'client_timeout' }));
      m.flush();
      expect(server.requests[0]).toMatchObject({ sentAt: 0, abortedAt: 100 });
    }),
  );

  test(
    'unsubscribing aborts the request',
    marbles((m) => {
      const server = new ScriptedTransport(m.scheduler);
      server.script(ok({}, 500));
      const api = createApiClient({ baseUrl: 'https://api.test', transport: server.transport, scheduler: m.scheduler });
      m.expect(api.send(request), '^ 49ms !').toBeObservable('-');
      m.flush();
      expect(server.requests[0]).toMatchObject({ abortedAt: 50 });
      expect(server.requests[0]!.answeredAt).toBeUndefined();
    }),
  );

  test(
    'maps failures through the classifiers',
    marbles((m) => {
      const server = new ScriptedTransport(m.scheduler);
      server.script(networkError(5), fail(500), fail(429, { headers: { 'Retry-After': '3' } }));
      const api = createApiClient({ baseUrl: 'https://api.test', transport: server.transport, scheduler: m.scheduler });
      const errors: unknown[] = [];
      for (let i = 0; i < 3; i++) api.send(request).subscribe({ error: (e) => errors.push(e) });
      m.flush();
      expect(errors[0]).toBeInstanceOf(NetworkError);
      expect(errors[1]).toBeInstanceOf(ServerError);
      expect(errors[1]).toMatchObject({ status: 500, consumesAttempt: true });
      expect(errors[2]).toBeInstanceOf(RateLimitError);
      expect(errors[2]).toMatchObject({ status: 429, retryAfterMs: 3000 });
      for (const e of errors) expect(String((e as Error).message)).not.toContain('secret-token');
    }),
  );
});

describe('fetchTransport', () => {
  test('passes method, headers, body and an AbortSignal; reads the body as text', async () => {
    const calls: Array<[string, RequestInit]> = [];
    const fakeFetch = async (url: string, init: RequestInit) => {
      calls.push([url, init]);
      return new Response('{"data":1}', { status: 200, headers: { 'x-a': 'b' } });
    };
    const res = await firstValueFrom(fetchTransport(fakeFetch)({ method: 'PUT', url: 'https://x/y', headers: { A: '1' }, body: '{}' }));
    expect(res.status).toBe(200);
    expect(res.bodyText).toBe('{"data":1}');
    expect(res.headers.get('X-A')).toBe('b');
    expect(calls[0]![0]).toBe('https://x/y');
    expect(calls[0]![1]).toMatchObject({ method: 'PUT', headers: { A: '1' }, body: '{}' });
    expect(calls[0]![1].signal).toBeInstanceOf(AbortSignal);
  });

  test('unsubscribing aborts the fetch', async () => {
    let signal: AbortSignal | undefined;
    const fakeFetch = (_url: string, init: RequestInit) =>
      new Promise<Response>((_resolve, reject) => {
        signal = init.signal ?? undefined;
        signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
      });
    const errors: unknown[] = [];
    const sub = fetchTransport(fakeFetch)({ method: 'GET', url: 'https://x', headers: {} }).subscribe({ error: (e) => errors.push(e) });
    expect(signal?.aborted).toBe(false);
    sub.unsubscribe();
    expect(signal?.aborted).toBe(true);
    await new Promise((r) => setImmediate(r));
    expect(errors).toEqual([]); // the late rejection goes nowhere
  });
});
