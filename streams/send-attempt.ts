import { Observable, Subscription, catchError, concatMap, switchMap, throwError } from 'rxjs';
import type { ApiClient, ApiRequest, ApiResponse } from '../src/api/api-client';
import { AuthError, SyncError } from '../src/errors/sync-error';
import type { PendingOp } from '../src/op/pending-op';
import { classifyError } from '../src/policy/classify-error';
import type { OpRouter } from '../src/router/op-router';
import type { RateLimiter } from '../src/security/rate-limiter';
import type { ProcessOutcome } from './outcome';
import type { AuthPort } from './ports';
import type { RequestSlots } from './request-slots';
import { switchTo } from './switch-to';

/** What one attempt needs: the API, tokens, the router (wire format) and the outcome callback. */
export interface SendContext {
  readonly api: ApiClient;
  readonly auth: AuthPort;
  readonly router: Pick<OpRouter, 'toRequest' | 'decodeResponse'>;
  readonly now: () => number;
  /** Extra headers per attempt (e.g. `traceparent`), read after `attemptStarted`. */
  readonly requestHeaders?: (op: PendingOp) => Readonly<Record<string, string>> | undefined;
  readonly rateLimiter?: RateLimiter;
  /** With concurrency: the requests on the wire at once are bounded here (absent: one op at a time anyway). */
  readonly slots?: RequestSlots;
  readonly report: (outcome: ProcessOutcome) => void;
  /**
   * Asked right before each request would go out (after the rate limiter
   * and a request slot), before `attemptStarted`: may this engine still
   * send? The engine's fence — is its lock's token still the store's.
   * `false`: the attempt never starts — nothing reported, nothing sent,
   * `attempt` not counted — and never emits (the engine reports the lock
   * lost, which closes the gate and unsubscribes it). An error: the
   * attempt fails with it (reported, as any failure). Absent: always.
   */
  readonly admit?: () => Observable<boolean>;
}

/**
 * The op being sent and its attempts so far, shared by every attempt of one
 * `processOp` (the retry policy rewrites `op` between attempts; each
 * attempt numbers itself from `attempt`).
 */
export interface AttemptState {
  op: PendingOp;
  attempt: number;
}

/** The second 401 (or a failed refresh): the engine waits for credentials. */
export class AuthRequiredSignal extends Error {
  constructor() {
    super('authentication required');
    this.name = 'AuthRequiredSignal';
  }
}

/**
 * The request of one attempt of `op` with `token` (null: no
 * `Authorization`), and where it is sent from: the API (behind the
 * client-side rate limiter, when there is one, and a request slot with
 * concurrency — unless `limit` is false: the caller queued it there
 * already). Throws what the router throws (a throwing `toWire`).
 */
export function requestOf(op: PendingOp, token: string | null, ctx: SendContext, limit = true): Observable<ApiResponse> {
  const request = ctx.router.toRequest(op);
  const apiRequest: ApiRequest = {
    method: request.method,
    path: request.path,
    body: request.body,
    token,
    idempotencyKey: op.idempotencyKey,
    traceId: op.traceId,
    headers: ctx.requestHeaders?.(op),
  };
  return limit ? limited(ctx.api.send(apiRequest), ctx) : ctx.api.send(apiRequest);
}

/**
 * `send$` behind the client-side rate limiter (one token per request) and,
 * with concurrency, a request slot.
 *
 * @example
 * limited(ctx.api.send(request), ctx).subscribe(handle);
 */
export function limited<T>(send$: Observable<T>, ctx: Pick<SendContext, 'rateLimiter' | 'slots'>): Observable<T> {
  const rated$ = ctx.rateLimiter ? ctx.rateLimiter.take().pipe(concatMap(() => send$)) : send$;
  return ctx.slots ? ctx.slots.run(rated$) : rated$;
}

/**
 * One attempt of `state.op` with `token`: reports `attemptStarted`, builds
 * and sends the request (`sending` once it is built), decodes the answer,
 * then reports `attemptSucceeded` and emits it — or `attemptFailed` for any
 * failure on the way (a throwing `toWire`, the transport, the response
 * codec), erroring with it as a `SyncError` (an untyped throw becomes a
 * budgeted `ServerError('unexpected')`). Unsubscribing aborts the request.
 *
 * With `ctx.admit` (the engine's fence), the rate limiter and the request
 * slot come first, then the check, and only an admitted attempt is
 * reported and sent: a holder that lost its lock without knowing it
 * reports no attempt that never went on the wire (no `attemptStarted`, no
 * retry counted, no send span, no `inFlight`).
 *
 * Why not `defer` + `map` + `tap` + `catchError`: it runs per op on the
 * drain's hot path, where one Observable instead of an operator chain keeps
 * the per-op CPU down (docs/performance.md, Drain). It behaves exactly like
 * that chain, pinned by `test/streams/send-attempt.test.ts`.
 *
 * ```
 * api.send        --r|           --#
 * sendAttempt     --d|           --#     d: { status, data: decoded }
 * ```
 *
 * @example
 * sendAttempt({ op, attempt: 0 }, token, ctx).subscribe({ next: (res) => res.data });
 */
export function sendAttempt(state: AttemptState, token: string | null, ctx: SendContext): Observable<ApiResponse> {
  const admit = ctx.admit;
  if (admit === undefined) return attempt$(state, token, ctx, true);
  const admitted$ = new Observable<ApiResponse>((subscriber) => {
    const subs = new Subscription();
    subs.add(
      admit().subscribe({
        // Refused: nothing starts, nothing is reported; the lost lock closes the gate.
        next: (ok) => void (ok && subs.add(attempt$(state, token, ctx, false).subscribe(subscriber))),
        error: (raw: unknown) => subs.add(attempt$(state, token, ctx, false, { raw }).subscribe(subscriber)),
      }),
    );
    return subs;
  });
  return limited(admitted$, ctx);
}

/** The attempt itself (`limit`: the request behind the limiter and a slot); `failed`: it fails at once with `raw`. */
function attempt$(state: AttemptState, token: string | null, ctx: SendContext, limit: boolean, failed?: { readonly raw: unknown }): Observable<ApiResponse> {
  return new Observable<ApiResponse>((subscriber) => {
    const { now } = ctx;
    const attempt = (state.attempt += 1);
    const op = state.op;
    ctx.report({ type: 'attemptStarted', at: now(), op, attempt });
    const started = now();
    const fail = (raw: unknown): void => {
      const err = classifyError(raw);
      ctx.report({ type: 'attemptFailed', at: now(), op, attempt, error: err.toInfo(), durationMs: now() - started });
      subscriber.error(err);
    };
    if (failed !== undefined) {
      fail(failed.raw);
      return undefined;
    }
    let source$: Observable<ApiResponse>;
    try {
      source$ = requestOf(op, token, ctx, limit);
      ctx.report({ type: 'sending', opId: op.id });
    } catch (raw) {
      fail(raw);
      return undefined;
    }
    return source$.subscribe({
      next: (res) => {
        let out: ApiResponse;
        try {
          out = { status: res.status, data: ctx.router.decodeResponse(op.type, res.data) };
          ctx.report({ type: 'attemptSucceeded', at: now(), op, attempt, status: out.status, durationMs: now() - started });
        } catch (raw) {
          fail(raw);
          return;
        }
        subscriber.next(out);
      },
      error: fail,
      complete: () => subscriber.complete(),
    });
  });
}

const isAuth = (err: unknown): boolean => err instanceof SyncError && err.kind === 'auth';

/**
 * Attempts of `state.op` with auth: one try with the current token; on a
 * 401, refresh once and try once more. A second 401, a failed refresh or a
 * signed-out user (`token()` null) reports `authFailed` (why) and errors
 * with `AuthRequiredSignal`; any other failure is the attempt's error. An
 * `anonymous` port's null token is sent (no `Authorization`), and its
 * failing refresh makes a 401 the reason for `authRequired`.
 * Cold: each subscription (each retry) is one more try.
 *
 * ```
 * token()       (t|)
 * sendAttempt   --#401      refresh  (u|)  sendAttempt(u) --d|
 * result        ---------------------------------------------d|
 * ```
 *
 * @example
 * sendWithAuth(state, ctx).pipe(retry({ delay: (err) => decide(err) }));
 */
export function sendWithAuth(state: AttemptState, ctx: SendContext): Observable<ApiResponse> {
  // Credentials are needed: why (a second 401, a failed or timed-out
  // refresh) is shown as the status's lastError while the gate is closed.
  const authRequired = (reason: unknown): Observable<never> => {
    const error = reason instanceof SyncError ? reason.toInfo() : new AuthError({ code: 'refresh_failed' }).toInfo();
    ctx.report({ type: 'authFailed', error });
    return throwError(() => new AuthRequiredSignal());
  };
  const authOrRethrow = (err: unknown): Observable<never> => (isAuth(err) ? authRequired(err) : throwError(() => err));
  return switchTo(
    // A refresh failing inside `token()` (proactive, or one this call
    // joined) is a failed refresh too; other failures (a `getToken` that
    // timed out, offline) are retried like any transient error.
    ctx.auth.token().pipe(catchError(authOrRethrow)),
    (token) => {
      if (token === null && ctx.auth.anonymous !== true) return throwError(() => new AuthRequiredSignal());
      return sendAttempt(state, token, ctx).pipe(
        catchError((err: unknown) => {
          if (!isAuth(err)) return throwError(() => err);
          return ctx.auth.refresh(token).pipe(
            catchError(authRequired),
            switchMap((fresh) => sendAttempt(state, fresh, ctx)),
            catchError(authOrRethrow),
          );
        }),
      );
    },
  );
}
