import { catchError, defer, map, tap, throwError, type Observable } from 'rxjs';
import { marbles } from 'rxjs-marbles/jest';
import type { ApiRequest, ApiResponse } from '../../src/api/api-client';
import { AuthError, NetworkError, ServerError } from '../../src/errors/sync-error';
import { classifyError } from '../../src/policy/classify-error';
import type { ProcessOutcome } from '../../streams/outcome';
import {
  AuthRequiredSignal,
  requestOf,
  sendAttempt,
  sendWithAuth,
  type AttemptState,
  type SendContext,
} from '../../streams/send-attempt';
import { NO_CREDENTIALS, anonymousAuthPort } from '../../src/engine/auth-port';
import { FakeAuth, testRoutes } from '../support/engine-harness';
import { pendingOp } from '../support/op-fixture';

type M = Parameters<Parameters<typeof marbles>[0]>[0];

/** The operator chain `sendAttempt` replaces (see its TSDoc). */
function viaOperators(state: AttemptState, token: string, ctx: SendContext): Observable<ApiResponse> {
  return defer(() => {
    const attempt = (state.attempt += 1);
    const op = state.op;
    ctx.report({ type: 'attemptStarted', at: ctx.now(), op, attempt });
    const started = ctx.now();
    return defer(() => {
      const send$ = requestOf(op, token, ctx);
      ctx.report({ type: 'sending', opId: op.id });
      return send$;
    }).pipe(
      map((res) => ({ status: res.status, data: ctx.router.decodeResponse(op.type, res.data) })),
      tap((out) => ctx.report({ type: 'attemptSucceeded', at: ctx.now(), op, attempt, status: out.status, durationMs: ctx.now() - started })),
      catchError((raw: unknown) => {
        const err = classifyError(raw);
        ctx.report({ type: 'attemptFailed', at: ctx.now(), op, attempt, error: err.toInfo(), durationMs: ctx.now() - started });
        return throwError(() => err);
      }),
    );
  });
}

/** A send context whose API answers with `answers` in turn (the last one repeats). */
function setup(m: M, answers: Array<Observable<ApiResponse>>, over: Partial<SendContext> = {}) {
  const outcomes: ProcessOutcome[] = [];
  const sent: ApiRequest[] = [];
  const auth = new FakeAuth();
  const ctx: SendContext = {
    api: {
      send: (req) => {
        sent.push(req);
        return answers[Math.min(sent.length - 1, answers.length - 1)]!;
      },
      sendBatch: () => {
        throw new Error('not batched');
      },
    },
    auth,
    router: testRoutes,
    now: () => m.scheduler.now(),
    report: (o) => outcomes.push(o),
    ...over,
  };
  const state: AttemptState = { op: pendingOp(), attempt: 0 };
  return { ctx, state, outcomes, sent, auth };
}

/** The outcomes without the op (same object in every case): type, time, attempt, duration, error. */
const summary = (outcomes: readonly ProcessOutcome[]) =>
  outcomes.map((o) => ({
    type: o.type,
    ...('at' in o ? { at: o.at } : {}),
    ...('attempt' in o ? { attempt: o.attempt } : {}),
    ...('durationMs' in o ? { durationMs: o.durationMs } : {}),
    ...('error' in o ? { error: o.error } : {}),
  }));

const ok = { r: { status: 201, data: { id: 'a' } } };
const out = { a: { status: 201, data: { id: 'a' } } };
const e500 = new ServerError({ status: 500 });

interface Case {
  readonly name: string;
  readonly answer: string;
  readonly error?: unknown;
  readonly over?: (m: M) => Partial<SendContext>;
  readonly unsubscribe?: string;
  readonly expected: string;
  readonly expectedError?: unknown;
  readonly subs: string;
  readonly outcomes: ReadonlyArray<Record<string, unknown>>;
}

const started = { type: 'attemptStarted', at: 0, attempt: 1 };
const sending = { type: 'sending' };
const cases: readonly Case[] = [
  {
    name: 'an answer: decoded, attemptSucceeded with its duration',
    answer: '--r|',
    expected: '--a|',
    subs: '^--!',
    outcomes: [started, sending, { type: 'attemptSucceeded', at: 2, attempt: 1, durationMs: 2 }],
  },
  {
    name: 'a typed failure: attemptFailed, the same error',
    answer: '--#',
    error: e500,
    expected: '--#',
    expectedError: e500,
    subs: '^-!',
    outcomes: [started, sending, { type: 'attemptFailed', at: 2, attempt: 1, durationMs: 2, error: { kind: 'server', status: 500 } }],
  },
  {
    name: 'an untyped failure becomes a budgeted ServerError',
    answer: '-#',
    error: new Error('bug'),
    expected: '-#',
    expectedError: classifyError(new Error('bug')),
    subs: '^!',
    outcomes: [started, sending, { type: 'attemptFailed', at: 1, attempt: 1, durationMs: 1, error: classifyError(new Error('bug')).toInfo() }],
  },
  {
    name: 'a throwing toWire: attemptFailed before anything is sent',
    answer: '--r|',
    over: () => ({
      router: {
        toRequest: () => {
          throw new Error('toWire');
        },
        decodeResponse: testRoutes.decodeResponse,
      },
    }),
    expected: '#',
    expectedError: classifyError(new Error('toWire')),
    subs: '',
    outcomes: [started, { type: 'attemptFailed', at: 0, attempt: 1, durationMs: 0, error: classifyError(new Error('toWire')).toInfo() }],
  },
  {
    name: 'an answer the response codec refuses: attemptFailed',
    answer: '--r|',
    over: () => ({
      router: {
        toRequest: testRoutes.toRequest,
        decodeResponse: () => {
          throw new Error('codec');
        },
      },
    }),
    expected: '--#',
    expectedError: classifyError(new Error('codec')),
    subs: '^-!',
    outcomes: [started, sending, { type: 'attemptFailed', at: 2, attempt: 1, durationMs: 2, error: classifyError(new Error('codec')).toInfo() }],
  },
  {
    name: 'unsubscribing aborts the request: no attempt outcome',
    answer: '-----r|',
    unsubscribe: '^--!',
    expected: '---',
    subs: '^--!',
    outcomes: [started, sending],
  },
  {
    name: 'behind the rate limiter: sent once a token is granted',
    answer: '--r|',
    over: (m) => ({ rateLimiter: { take: () => m.cold<void>('5ms (x|)'), available: () => 0 } }),
    expected: '7ms a|',
    subs: '5ms ^--!',
    outcomes: [started, sending, { type: 'attemptSucceeded', at: 7, attempt: 1, durationMs: 7 }],
  },
];

describe('sendAttempt behaves as defer + map + tap + catchError', () => {
  for (const c of cases) {
    for (const [label, attempt] of [
      ['sendAttempt', sendAttempt],
      ['operators', viaOperators],
    ] as const) {
      it(
        `${c.name} (${label})`,
        marbles((m) => {
          const answer$ = m.cold<ApiResponse>(c.answer, ok, c.error);
          const { ctx, state, outcomes } = setup(m, [answer$], c.over?.(m));
          m.expect(attempt(state, 'token-1', ctx), c.unsubscribe).toBeObservable(c.expected, out, c.expectedError);
          m.expect(answer$).toHaveSubscriptions(c.subs === '' ? [] : c.subs);
          m.flush();
          expect(summary(outcomes)).toEqual(c.outcomes);
          expect(state.attempt).toBe(1);
        }),
      );
    }
  }
});

describe('sendWithAuth', () => {
  test(
    'a 401 refreshes once and tries once more with the new token',
    marbles((m) => {
      const e401 = m.cold<ApiResponse>('--#', undefined, new AuthError({ status: 401 }));
      const success = m.cold<ApiResponse>('--r|', ok);
      const { ctx, state, sent, auth, outcomes } = setup(m, [e401, success]);
      auth.refreshes.push('token-2');
      m.expect(sendWithAuth(state, ctx)).toBeObservable('----a|', out);
      m.expect(e401).toHaveSubscriptions('^-!');
      m.expect(success).toHaveSubscriptions('--^--!');
      m.flush();
      expect(sent.map((r) => r.token)).toEqual(['token-1', 'token-2']);
      expect(sent.map((r) => r.idempotencyKey)).toEqual([state.op.idempotencyKey, state.op.idempotencyKey]);
      expect(summary(outcomes).map((o) => o.type)).toEqual([
        'attemptStarted',
        'sending',
        'attemptFailed',
        'attemptStarted',
        'sending',
        'attemptSucceeded',
      ]);
      expect(auth.refreshCalls).toBe(1);
    }),
  );

  test(
    'a second 401 reports why (authFailed) and errors with AuthRequiredSignal',
    marbles((m) => {
      const e401 = m.cold<ApiResponse>('--#', undefined, new AuthError({ status: 401 }));
      const { ctx, state, auth, outcomes } = setup(m, [e401]);
      auth.refreshes.push('token-2');
      m.expect(sendWithAuth(state, ctx)).toBeObservable('----#', undefined, new AuthRequiredSignal());
      m.expect(e401).toHaveSubscriptions(['^-!', '--^-!']);
      m.flush();
      expect(outcomes.filter((o) => o.type === 'authFailed')).toEqual([{ type: 'authFailed', error: { kind: 'auth', status: 401 } }]);
      expect(auth.refreshCalls).toBe(1);
    }),
  );

  test(
    'a failed refresh: authFailed with the refresh error, no second send',
    marbles((m) => {
      const e401 = m.cold<ApiResponse>('--#', undefined, new AuthError({ status: 401 }));
      const { ctx, state, auth, sent, outcomes } = setup(m, [e401]);
      auth.refreshes.push(new AuthError({ code: 'refresh_timeout' }));
      m.expect(sendWithAuth(state, ctx)).toBeObservable('--#', undefined, new AuthRequiredSignal());
      m.flush();
      expect(sent).toHaveLength(1);
      expect(outcomes.filter((o) => o.type === 'authFailed')).toEqual([{ type: 'authFailed', error: { kind: 'auth', code: 'refresh_timeout' } }]);
    }),
  );

  test(
    'signed out (no token): AuthRequiredSignal at once, nothing sent, nothing reported',
    marbles((m) => {
      const success = m.cold<ApiResponse>('--r|', ok);
      const { ctx, state, auth, outcomes } = setup(m, [success]);
      auth.current = null;
      m.expect(sendWithAuth(state, ctx)).toBeObservable('#', undefined, new AuthRequiredSignal());
      m.expect(success).toHaveSubscriptions([]);
      m.flush();
      expect(outcomes).toEqual([]);
    }),
  );

  test(
    'a token() failure that is not auth (offline, a timed-out getToken) is the error, for the retry policy',
    marbles((m) => {
      const offline = new NetworkError();
      const success = m.cold<ApiResponse>('--r|', ok);
      const { ctx, state, outcomes } = setup(m, [success], {
        auth: { token: () => throwError(() => offline), refresh: () => throwError(() => offline), refreshed$: m.cold('-') },
      });
      m.expect(sendWithAuth(state, ctx)).toBeObservable('#', undefined, offline);
      m.flush();
      expect(outcomes).toEqual([]);
    }),
  );

  test(
    'anonymous (no auth): the null token is sent (no Authorization), not taken for a signed-out user',
    marbles((m) => {
      const success = m.cold<ApiResponse>('--r|', ok);
      const { ctx, state, sent } = setup(m, [success], { auth: anonymousAuthPort() });
      m.expect(sendWithAuth(state, ctx)).toBeObservable('--a|', out);
      m.flush();
      expect(sent.map((r) => r.token)).toEqual([null]);
    }),
  );

  test(
    'anonymous (no auth): a 401 has no refresh to try: authFailed with no_credentials, AuthRequiredSignal, one send',
    marbles((m) => {
      const e401 = m.cold<ApiResponse>('--#', undefined, new AuthError({ status: 401, code: 'token_missing' }));
      const { ctx, state, sent, outcomes } = setup(m, [e401], { auth: anonymousAuthPort() });
      m.expect(sendWithAuth(state, ctx)).toBeObservable('--#', undefined, new AuthRequiredSignal());
      m.flush();
      expect(sent).toHaveLength(1);
      expect(outcomes.filter((o) => o.type === 'authFailed')).toEqual([
        { type: 'authFailed', error: { kind: 'auth', status: 401, code: NO_CREDENTIALS } },
      ]);
    }),
  );

  test(
    'a 5xx is not an auth failure: no refresh, the error as is',
    marbles((m) => {
      const e500 = m.cold<ApiResponse>('--#', undefined, new ServerError({ status: 500 }));
      const { ctx, state, auth } = setup(m, [e500]);
      m.expect(sendWithAuth(state, ctx)).toBeObservable('--#', undefined, new ServerError({ status: 500 }));
      m.flush();
      expect(auth.refreshCalls).toBe(0);
    }),
  );
});

/**
 * `admit` (the engine's fence) is asked before the attempt starts: a holder
 * that lost its lock without knowing reports no attempt that never went on
 * the wire — no `attemptStarted`, no `sending`, no attempt counted — and
 * sends nothing; the refused attempt never emits (the engine's gate closes
 * on the lost lock and unsubscribes it).
 */
describe('sendAttempt with admit (the fence)', () => {
  test(
    'refused: nothing reported, nothing sent, the attempt not counted, never emits',
    marbles((m) => {
      const answer$ = m.cold<ApiResponse>('--r|', ok);
      const { ctx, state, outcomes, sent } = setup(m, [answer$], { admit: () => m.cold<boolean>('-(f|)', { f: false }) });
      m.expect(sendAttempt(state, 'token-1', ctx)).toBeObservable('-------');
      m.expect(answer$).toHaveSubscriptions([]);
      m.flush();
      expect(outcomes).toEqual([]);
      expect(sent).toEqual([]);
      expect(state.attempt).toBe(0);
    }),
  );

  test(
    'admitted: the attempt starts once the check passes, then as without it',
    marbles((m) => {
      const answer$ = m.cold<ApiResponse>('--r|', ok);
      const { ctx, state, outcomes } = setup(m, [answer$], { admit: () => m.cold<boolean>('-(t|)', { t: true }) });
      m.expect(sendAttempt(state, 'token-1', ctx)).toBeObservable('---a|', out);
      m.expect(answer$).toHaveSubscriptions('-^--!');
      m.flush();
      expect(summary(outcomes)).toEqual([
        { type: 'attemptStarted', at: 1, attempt: 1 },
        sending,
        { type: 'attemptSucceeded', at: 3, attempt: 1, durationMs: 2 },
      ]);
    }),
  );

  test(
    'the check itself fails (the store read): the attempt fails with that error, reported as any failure, nothing sent',
    marbles((m) => {
      const answer$ = m.cold<ApiResponse>('--r|', ok);
      const readFailed = new ServerError({ status: 503 });
      const { ctx, state, outcomes, sent } = setup(m, [answer$], { admit: () => m.cold<boolean>('-#', undefined, readFailed) });
      m.expect(sendAttempt(state, 'token-1', ctx)).toBeObservable('-#', undefined, readFailed);
      m.flush();
      expect(summary(outcomes)).toEqual([
        { type: 'attemptStarted', at: 1, attempt: 1 },
        { type: 'attemptFailed', at: 1, attempt: 1, durationMs: 0, error: readFailed.toInfo() },
      ]);
      expect(sent).toEqual([]);
    }),
  );

  test(
    'behind the rate limiter: checked once a token is granted, right before the request (the attempt starts then)',
    marbles((m) => {
      const answer$ = m.cold<ApiResponse>('--r|', ok);
      const checks: number[] = [];
      const { ctx, state, outcomes } = setup(m, [answer$], {
        rateLimiter: { take: () => m.cold<void>('5ms (x|)'), available: () => 0 },
        admit: () => {
          checks.push(m.scheduler.now());
          return m.cold<boolean>('(t|)', { t: true });
        },
      });
      m.expect(sendAttempt(state, 'token-1', ctx)).toBeObservable('7ms a|', out);
      m.expect(answer$).toHaveSubscriptions('5ms ^--!');
      m.flush();
      expect(checks).toEqual([5]);
      expect(summary(outcomes)).toEqual([
        { type: 'attemptStarted', at: 5, attempt: 1 },
        sending,
        { type: 'attemptSucceeded', at: 7, attempt: 1, durationMs: 2 },
      ]);
    }),
  );
});
