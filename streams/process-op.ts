import {
  EMPTY,
  NEVER,
  Observable,
  catchError,
  concat,
  concatMap,
  defaultIfEmpty,
  defer,
  from,
  ignoreElements,
  isObservable,
  of,
  retry,
  switchMap,
  take,
  tap,
  throwError,
  timer,
  type ObservableInput,
  type SchedulerLike,
} from 'rxjs';
import type { ApiClient, ApiResponse } from '../src/api/api-client';
import type { EngineEvent, OpResult } from '../src/engine/sync-engine';
import type { StatusAction } from '../src/engine/status-reducer';
import { AuthError, ConflictError, StorageError, SyncError } from '../src/errors/sync-error';
import { classifyError } from '../src/policy/classify-error';
import { createIdempotencyKey } from '../src/op/ids';
import type { PendingOp } from '../src/op/pending-op';
import { retryDelay, type BackoffPolicy } from '../src/policy/backoff';
import { boundedWaitMs, storedWaitMs } from '../src/policy/bounded-wait';
import type { OpRouter } from '../src/router/op-router';
import type { RateLimiter } from '../src/security/rate-limiter';
import type { FailedRecord, FailureReason } from '../src/store/op-store';
import type { SettleLane } from './settle-lane';
import { switchTo } from './switch-to';
import type { AuthPort, StorePort } from './ports';

/** What `reconcile` decides for a 409 domain conflict. */
export type ReconcileDecision =
  /** Send the op again with this payload and a NEW idempotency key. */
  | { readonly action: 'retry'; readonly payload: unknown }
  /** Remove the op: nothing is sent, nothing is kept in `failed_ops`. */
  | { readonly action: 'drop' }
  /** Move the op to `failed_ops` (the default). */
  | { readonly action: 'fail' };

/**
 * The app's conflict hook. May answer synchronously, with a Promise or with
 * an Observable (first value). Throwing or rejecting means `fail`.
 */
export type Reconcile = (op: PendingOp, conflict: ConflictError) => ReconcileDecision | ObservableInput<ReconcileDecision>;

/** Everything one op's processing needs; all I/O is injected. */
export interface ProcessContext {
  readonly store: StorePort;
  /** Where ops leave the queue, in order: commits are handed over, other settlements wait. */
  readonly lane: SettleLane;
  readonly api: ApiClient;
  readonly auth: AuthPort;
  readonly router: OpRouter;
  readonly scheduler: SchedulerLike;
  readonly now: () => number;
  readonly random: () => number;
  readonly backoff: BackoffPolicy;
  /** Multiplier applied to every wait when it starts (power saving ≥ 1); the result is bounded by `boundedWaitMs`. */
  readonly backoffFactor: () => number;
  readonly reconcile?: Reconcile;
  /** Extra headers per attempt (e.g. `traceparent`), read after `attemptStarted`. */
  readonly requestHeaders?: (op: PendingOp) => Readonly<Record<string, string>> | undefined;
  readonly rateLimiter?: RateLimiter;
  readonly emit: (event: EngineEvent) => void;
  readonly dispatch: (action: StatusAction) => void;
  readonly result: (result: OpResult) => void;
}

/** The second 401 (or a failed refresh): the engine waits for credentials. */
export class AuthRequiredSignal extends Error {
  constructor() {
    super('authentication required');
    this.name = 'AuthRequiredSignal';
  }
}

// Anything thrown that is not typed (a bug, a throwing `toWire`) becomes a
// budgeted ServerError('unexpected'): retried a few times, then failed_ops.
const toSyncError = (err: unknown): SyncError => classifyError(err);

const failureReasonOf = (err: SyncError): FailureReason =>
  err.kind === 'malformedResponse' || err.kind === 'redirect' ? err.kind : err.retryable ? 'exhausted' : 'permanent';

const isThenable = (v: unknown): v is PromiseLike<unknown> =>
  typeof v === 'object' && v !== null && typeof (v as PromiseLike<unknown>).then === 'function';

/** A plain decision is used as is (synchronous, virtual-time friendly); a Promise or Observable is awaited. */
const decisionOf = (value: ReconcileDecision | ObservableInput<ReconcileDecision>): Observable<ReconcileDecision> =>
  isObservable(value) || isThenable(value) ? from(value as ObservableInput<ReconcileDecision>) : of(value as ReconcileDecision);

/**
 * Process the head op until it leaves the queue: ledger check (unless the
 * store completes atomically), wait for a stored `nextAttemptAt`, send with
 * auth refresh, retry transient failures with `retry({ delay })`
 * (persisting `attempts`, `nextAttemptAt` and `lastError` before each
 * wait), then complete, fail or reconcile.
 *
 * Never errors and emits nothing: outcomes go to `ctx.result`, lifecycle to
 * `ctx.emit`, status to `ctx.dispatch`. Completes when the op has left the
 * queue — or, for a success, as soon as its commit (ledger write, removal,
 * result) is handed to `ctx.lane`, so the next op is sent while it is
 * written; stays open (until unsubscribed by the gate) in `authRequired`.
 * Unsubscribing aborts the in-flight request without consuming an attempt.
 * A storage failure restarts the op's processing after a backoff wait.
 *
 * @example
 * from(ops).pipe(concatMap((op) => processOp(op, ctx)));
 */
export function processOp(op: PendingOp, ctx: ProcessContext): Observable<never> {
  let storageFailures = 0;
  return defer(() => runOp(op, ctx)).pipe(
    retry({
      delay: (err: unknown) => {
        // Storage trouble (or a bug) must not fail the op: nothing about it
        // is known to be wrong. Report it and start over after a wait.
        const info = err instanceof SyncError ? err.toInfo() : new StorageError('unavailable').toInfo();
        const delayMs = boundedWaitMs(retryDelay({}, storageFailures++, ctx.backoff, ctx.random).delayMs, ctx.backoffFactor(), ctx.backoff);
        ctx.dispatch({ type: 'waiting', opId: op.id, nextAttemptAt: ctx.now() + delayMs, error: info });
        return timer(delayMs, ctx.scheduler);
      },
    }),
  );
}

function runOp(initial: PendingOp, ctx: ProcessContext): Observable<never> {
  const { store } = ctx;
  // Where ledger entry and removal are one transaction, a pending op is
  // never in the ledger: the check would be a storage read per op that can
  // only say no.
  if (store.completesAtomically === true) return sendUntilSettled(initial, ctx);
  return switchTo(store.isCompleted(initial.idempotencyKey), (done) =>
    done ? completeFromLedger(initial, ctx) : sendUntilSettled(initial, ctx),
  );
}

function completeFromLedger(op: PendingOp, ctx: ProcessContext): Observable<never> {
  // The server accepted this key before (the crash hit between the ledger
  // write and the removal): finish without sending.
  return ctx.lane.run(ctx.store.complete(op, ctx.now()), () => {
    ctx.emit({ type: 'completed', at: ctx.now(), op, fromLedger: true });
    ctx.result({ opId: op.id, txToken: op.txToken, type: op.type, outcome: 'committed' });
    ctx.dispatch({ type: 'settled', opId: op.id });
  });
}

function sendUntilSettled(initial: PendingOp, ctx: ProcessContext): Observable<never> {
  const { now, scheduler } = ctx;
  let current = initial;
  // Consecutive failed tries (for the backoff exponent); a restart resumes
  // from the persisted budget count.
  let failures = initial.attempts;
  let attemptNo = 0;

  // A stored wait from an earlier session is honoured, except one caused by
  // the network being down: the gate only opens again once it is back. It is
  // an absolute wall-clock time, so it is capped on read: a clock stepped
  // back since it was written must not park the queue (storedWaitMs).
  const storedWait = (): Observable<never> => {
    const at = current.nextAttemptAt;
    if (at === null || current.lastError?.kind === 'network') return EMPTY;
    const t = now();
    const wait = storedWaitMs(at, t, current.lastError, ctx.backoffFactor(), ctx.backoff);
    if (wait <= 0) return EMPTY;
    ctx.dispatch({ type: 'waiting', opId: current.id, nextAttemptAt: t + wait });
    return timer(wait, scheduler).pipe(ignoreElements());
  };

  // One attempt: attemptStarted, build and send the request, decode the
  // answer, then attemptSucceeded — or attemptFailed for any failure on the
  // way (a throwing `toWire`, the transport, the response codec). Written as
  // one Observable rather than defer/map/tap/catchError: it runs per op.
  const sendOnce = (token: string): Observable<ApiResponse> =>
    new Observable<ApiResponse>((subscriber) => {
      attemptNo += 1;
      const attempt = attemptNo;
      const op = current;
      ctx.emit({ type: 'attemptStarted', at: now(), op, attempt });
      const started = now();
      const fail = (raw: unknown): void => {
        const err = toSyncError(raw);
        ctx.emit({ type: 'attemptFailed', at: now(), op, attempt, error: err.toInfo(), durationMs: now() - started });
        subscriber.error(err);
      };
      let source$: Observable<ApiResponse>;
      try {
        const request = ctx.router.toRequest(op);
        const send$ = ctx.api.send({
          method: request.method,
          path: request.path,
          body: request.body,
          token,
          idempotencyKey: op.idempotencyKey,
          traceId: op.traceId,
          headers: ctx.requestHeaders?.(op),
        });
        ctx.dispatch({ type: 'sending', opId: op.id });
        source$ = ctx.rateLimiter ? ctx.rateLimiter.take().pipe(concatMap(() => send$)) : send$;
      } catch (raw) {
        fail(raw);
        return undefined;
      }
      return source$.subscribe({
        next: (res) => {
          let out: ApiResponse;
          try {
            out = { status: res.status, data: ctx.router.decodeResponse(op.type, res.data) };
            ctx.emit({ type: 'attemptSucceeded', at: now(), op, attempt, status: out.status, durationMs: now() - started });
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

  // Credentials are needed: why (a second 401, a failed or timed-out
  // refresh) is shown as the status's lastError while the gate is closed.
  const authRequired = (reason: unknown): Observable<never> => {
    const error = reason instanceof SyncError ? reason.toInfo() : new AuthError({ code: 'refresh_failed' }).toInfo();
    ctx.dispatch({ type: 'error', error });
    return throwError(() => new AuthRequiredSignal());
  };
  const isAuth = (err: unknown): boolean => err instanceof SyncError && err.kind === 'auth';

  // One try with the current token; on 401 refresh once and try once more.
  const tryWithAuth = (): Observable<ApiResponse> =>
    switchTo(
      // A refresh failing inside `token()` (proactive, or one this call
      // joined) is a failed refresh too; other failures (a `getToken` that
      // timed out, offline) are retried like any transient error.
      ctx.auth.token().pipe(catchError((err: unknown) => (isAuth(err) ? authRequired(err) : throwError(() => err)))),
      (token) => {
        if (token === null) return throwError(() => new AuthRequiredSignal());
        return sendOnce(token).pipe(
          catchError((err: unknown) => {
            if (!isAuth(err)) return throwError(() => err);
            return ctx.auth.refresh(token).pipe(
              catchError(authRequired),
              switchMap((fresh) => sendOnce(fresh)),
              catchError((again: unknown) => (isAuth(again) ? authRequired(again) : throwError(() => again))),
            );
          }),
        );
      },
    );

  const attempts$ = tryWithAuth().pipe(
    retry({
      delay: (err: unknown) => {
        if (!(err instanceof SyncError) || !err.retryable || err instanceof StorageError) return throwError(() => err);
        const attempts = current.attempts + (err.consumesAttempt ? 1 : 0);
        current = { ...current, attempts, lastError: err.toInfo() };
        if (err.consumesAttempt && attempts >= ctx.backoff.maxAttempts) return throwError(() => err);
        failures += 1;
        const { delayMs, fromRetryAfter } = retryDelay(err, failures - 1, ctx.backoff, ctx.random);
        // After every multiplier, never past the policy maximum nor a timer's limit.
        const waitMs = boundedWaitMs(delayMs, ctx.backoffFactor(), ctx.backoff);
        const nextAttemptAt = now() + waitMs;
        current = { ...current, nextAttemptAt };
        const op = current;
        // Persist before waiting: a restart resumes this schedule.
        return ctx.store.update(op).pipe(
          tap(() => {
            ctx.emit({ type: 'backoff', at: now(), op, delayMs: waitMs, retryAfter: fromRetryAfter });
            ctx.dispatch({ type: 'waiting', opId: op.id, nextAttemptAt, error: err.toInfo() });
          }),
          switchMap(() => timer(waitMs, scheduler)),
        );
      },
    }),
  );

  const settle = (): Observable<never> => {
    // Usually nothing to wait for: then no concat around the attempts.
    const wait$ = storedWait();
    // The attempts emit one answer at most (retry resubscribes on errors
    // only), so switching to the commit is concatMap without its buffer.
    return switchTo(wait$ === EMPTY ? attempts$ : concat(wait$, attempts$), (res) => commit(current, res.data, ctx)).pipe(
      catchError((err: unknown) => {
        if (err instanceof AuthRequiredSignal) {
          // After the commits still being written: whoever reacts to
          // authRequired has the earlier ops' results already.
          return concat(
            ctx.lane.drained$,
            defer(() => {
              ctx.dispatch({ type: 'idle' });
              ctx.dispatch({ type: 'authRequired', required: true });
              ctx.emit({ type: 'authRequired', at: now() });
              return NEVER;
            }),
          );
        }
        if (err instanceof ConflictError) {
          return resolveConflict(current, err, ctx).pipe(
            switchMap((next) => {
              if (next === null) return of<never>();
              current = next;
              failures = 0;
              return settle();
            }),
          );
        }
        if (err instanceof SyncError && !(err instanceof StorageError)) {
          return failOp(current, failureReasonOf(err), err, ctx, 'failed');
        }
        return throwError(() => err);
      }),
    );
  };
  return settle();
}

function commit(op: PendingOp, data: unknown, ctx: ProcessContext): Observable<never> {
  // Ledger first (inside complete): a crash after the server's answer and
  // before this write resends with the same key and gets the replay — also
  // when the next op was already sent (handed over, the commit is written
  // while it is in flight). In the lane, the write runs to its end even if
  // the gate closes meanwhile, and results stay in FIFO order.
  ctx.lane.hand(ctx.store.complete(op, ctx.now()), () => {
    ctx.emit({ type: 'completed', at: ctx.now(), op, fromLedger: false });
    ctx.result({ opId: op.id, txToken: op.txToken, type: op.type, outcome: 'committed', data });
    // Status last: whoever waits for "idle" on status$ has the result already.
    ctx.dispatch({ type: 'settled', opId: op.id });
  });
  return EMPTY;
}

function failOp(
  op: PendingOp,
  reason: FailureReason,
  err: SyncError,
  ctx: ProcessContext,
  outcome: 'failed' | 'conflict',
): Observable<never> {
  const failedAt = ctx.now();
  const error = err.toInfo();
  const record: FailedRecord = { id: op.id, reason, error, attempts: op.attempts, failedAt, op };
  return ctx.lane.run(ctx.store.fail(op, { reason, error, failedAt }), () => {
    if (outcome === 'conflict') ctx.emit({ type: 'conflict', at: ctx.now(), op, resolution: 'fail' });
    ctx.emit({ type: 'failed', at: ctx.now(), record });
    ctx.result({
      opId: op.id,
      txToken: op.txToken,
      type: op.type,
      outcome,
      error,
      message: err.userMessage,
      reason,
      ...(outcome === 'conflict' ? { resolution: 'fail' as const } : {}),
    });
    ctx.dispatch({ type: 'settled', opId: op.id });
  });
}

/** The `results$` entry of a conflict that reconciliation resolved (retry or drop). */
function conflictResult(op: PendingOp, conflict: ConflictError, resolution: 'retry' | 'drop'): OpResult {
  return {
    opId: op.id,
    txToken: op.txToken,
    type: op.type,
    outcome: 'conflict',
    error: conflict.toInfo(),
    message: conflict.userMessage,
    resolution,
  };
}

/** Emits the op to send next (retry with a new payload and key) or null when it left the queue. */
function resolveConflict(op: PendingOp, conflict: ConflictError, ctx: ProcessContext): Observable<PendingOp | null> {
  const decision$: Observable<ReconcileDecision> =
    ctx.reconcile === undefined
      ? of({ action: 'fail' })
      : defer(() => decisionOf(ctx.reconcile!(op, conflict))).pipe(
          // First answer only; no answer, a throw or a rejection means fail.
          take(1),
          defaultIfEmpty({ action: 'fail' } as ReconcileDecision),
          catchError(() => of<ReconcileDecision>({ action: 'fail' })),
        );
  return decision$.pipe(
    concatMap((decision): Observable<PendingOp | null> => {
      const error = conflict.toInfo();
      if (decision.action === 'retry') {
        try {
          ctx.router.validate(op.type, decision.payload);
        } catch {
          return concat(failOp(op, 'conflict', conflict, ctx, 'conflict'), of(null));
        }
        // A new payload is a new request: it must not reuse the old key, or
        // the server would replay (or refuse) the first request's answer.
        const next: PendingOp = {
          ...op,
          payload: decision.payload,
          idempotencyKey: createIdempotencyKey(),
          attempts: 0,
          nextAttemptAt: null,
          lastError: error,
        };
        const retried$ = ctx.lane.run(ctx.store.update(next), () => {
          ctx.emit({ type: 'conflict', at: ctx.now(), op, resolution: 'retry' });
          ctx.result(conflictResult(op, conflict, 'retry'));
        });
        return concat(retried$, of(next));
      }
      if (decision.action === 'drop') {
        // No "remove" in the store contract: dead-letter it, then discard
        // the record. A crash in between leaves it in failed_ops (kept, not lost).
        const dropped$ = ctx.lane.run(
          concat(ctx.store.fail(op, { reason: 'dropped', error, failedAt: ctx.now() }), ctx.store.discardFailed(op.id)),
          () => {
            ctx.emit({ type: 'conflict', at: ctx.now(), op, resolution: 'drop' });
            ctx.result(conflictResult(op, conflict, 'drop'));
            ctx.dispatch({ type: 'settled', opId: op.id });
          },
        );
        return concat(dropped$, of(null));
      }
      return concat(failOp(op, 'conflict', conflict, ctx, 'conflict'), of(null));
    }),
  );
}
