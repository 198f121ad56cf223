import { catchError, map, throwError, timeout, type Observable, type SchedulerLike } from 'rxjs';
import { marbles } from 'rxjs-marbles/jest';
import { createApiClient, type ApiRequest, type ApiResponse } from '../../src/api/api-client';
import type { HttpTransport } from '../../src/api/http-transport';
import { SyncError, TimeoutError } from '../../src/errors/sync-error';
import { classifyError } from '../../src/policy/classify-error';
import { classifyResponse, type HttpResponseLike } from '../../src/policy/classify-response';

/**
 * The API client's exchange is one hand-written Observable (it runs per
 * attempt). It must behave exactly like the operator chain it replaces:
 * `timeout({ first })` on the transport, transport failures classified,
 * then the answer classified. Each case runs both and expects the same
 * values, errors, completion and transport subscriptions.
 */
const TIMEOUT_MS = 100;

function viaOperators(transport: HttpTransport, scheduler: SchedulerLike): (req: ApiRequest) => Observable<ApiResponse> {
  return () =>
    transport({ method: 'POST', url: 'https://api.test/todos', headers: {} }).pipe(
      timeout({ first: TIMEOUT_MS, with: () => throwError(() => new TimeoutError({ code: 'client_timeout' })), scheduler }),
      catchError((err: unknown) => throwError(() => (err instanceof SyncError ? err : classifyError(err)))),
      map((res) => {
        const classified = classifyResponse(res, scheduler.now());
        if (!classified.ok) throw classified.error;
        return { status: res.status, data: classified.data };
      }),
    );
}

function viaClient(transport: HttpTransport, scheduler: SchedulerLike): (req: ApiRequest) => Observable<ApiResponse> {
  const api = createApiClient({ baseUrl: 'https://api.test', transport, scheduler, requestTimeoutMs: TIMEOUT_MS });
  return (req) => api.send(req);
}

const request: ApiRequest = { method: 'POST', path: '/todos', body: {}, token: 't', idempotencyKey: 'k', traceId: 'tr' };
const answer = (status: number, body: unknown): HttpResponseLike => ({
  status,
  headers: { get: (name) => (name.toLowerCase() === 'content-type' ? 'application/json' : null) },
  bodyText: JSON.stringify(body),
});
const responses = { o: answer(200, { data: { id: '1' } }), f: answer(500, { error: { code: 'boom' } }) };
const outputs = { a: { status: 200, data: { id: '1' } } };
const classified500 = classifyResponse(responses.f, 0);
const serverError = classified500.ok ? undefined : classified500.error;
const offline = new TypeError('Failed to fetch');

interface Case {
  readonly name: string;
  readonly transport: string;
  readonly unsubscribe?: string;
  readonly expected: string;
  readonly error?: unknown;
  readonly subs: string;
}

const cases: readonly Case[] = [
  { name: 'answer before the timeout', transport: '--o|', expected: '--a|', subs: '^--!' },
  { name: 'an answer clears the timer, even before the exchange completes', transport: '--o', expected: '--a', subs: '^' },
  { name: 'synchronous answer: no timer', transport: '(o|)', expected: '(a|)', subs: '(^!)' },
  { name: 'no answer: times out and aborts the exchange', transport: '-', expected: '100ms #', error: new TimeoutError({ code: 'client_timeout' }), subs: '^ 99ms !' },
  { name: 'answer after the timeout: the timeout wins', transport: '150ms o|', expected: '100ms #', error: new TimeoutError({ code: 'client_timeout' }), subs: '^ 99ms !' },
  { name: 'a transport failure is classified', transport: '--#', expected: '--#', error: classifyError(offline), subs: '^-!' },
  { name: 'an error answer is classified', transport: '--f|', expected: '--#', error: serverError, subs: '^-!' },
  { name: 'completes without an answer', transport: '--|', expected: '--|', subs: '^-!' },
  { name: 'unsubscribing aborts the exchange and the timer', transport: '-----o|', unsubscribe: '^--!', expected: '---', subs: '^--!' },
];

describe('API client exchange: the hand-written timeout behaves as timeout({ first }) + classification', () => {
  for (const c of cases) {
    for (const [label, build] of [
      ['client', viaClient],
      ['operators', viaOperators],
    ] as const) {
      it(
        `${c.name} (${label})`,
        marbles((m) => {
          const exchange = m.cold<HttpResponseLike>(c.transport, responses, offline);
          const send = build(() => exchange, m.scheduler);
          m.expect(send(request), c.unsubscribe).toBeObservable(c.expected, outputs, c.error);
          m.expect(exchange).toHaveSubscriptions(c.subs);
        }),
      );
    }
  }
});
