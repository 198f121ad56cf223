import {
  EMPTY,
  NEVER,
  catchError,
  concat,
  defer,
  ignoreElements,
  map,
  of,
  retry,
  switchMap,
  tap,
  throwError,
  type Observable,
  type SchedulerLike,
} from 'rxjs';
import { StorageError, SyncError, type ConflictError } from '../src/errors/sync-error';
import type { PendingOp } from '../src/op/pending-op';
import type { BackoffPolicy } from '../src/policy/backoff';
import type { OpRouter } from '../src/router/op-router';
import { storedWaitMs } from '../src/policy/bounded-wait';
import { restartWaitMs, retryDecision, type RetryDecision } from '../src/policy/retry-decision';
import { resolveConflict, type ConflictContext } from './resolve-conflict';
import { AuthRequiredSignal, sendWithAuth, type AttemptState, type SendContext } from './send-attempt';
import { cancelOp, commit, completeFromLedger, failOp } from './settle-op';
import { switchTo } from './switch-to';
import { CancelSignal, waitBeforeRetry, type WaitContext } from './wait-before-retry';

/** Everything one op's processing needs; all I/O is injected, every outcome goes to `report`. */
export interface ProcessContext extends SendContext, ConflictContext, WaitContext {
  readonly router: OpRouter;
  readonly scheduler: SchedulerLike;
  readonly random: () => number;
  readonly backoff: BackoffPolicy;
  /** Multiplier applied to every wait when it starts (power saving ≥ 1); the result is bounded by `boundedWaitMs`. */
  readonly backoffFactor: () => number;
}

/** The retry policy said stop retrying this error: carried to the settlement. */
class GiveUp {
  constructor(
    readonly decision: Extract<RetryDecision, { action: 'fail' | 'reconcile' }>,
    readonly error: SyncError,
  ) {}
}

/**
 * Process the head op until it leaves the queue: ledger check (unless the
 * store completes atomically), wait for a stored `nextAttemptAt`, send with
 * auth refresh, retry transient failures as `retryDecision` says
 * (persisting `attempts`, `nextAttemptAt` and `lastError` before each
 * wait), then commit, fail or reconcile.
 *
 * Never errors and emits nothing: everything that happens to the op goes to
 * `ctx.report`. Completes when the op has left the queue — or, for a
 * success, as soon as its commit is handed to `ctx.lane`, so the next op is
 * sent while it is written; stays open (until unsubscribed by the gate) in
 * `authRequired`. Unsubscribing aborts the in-flight request without
 * consuming an attempt. A storage failure restarts the op's processing
 * after a backoff wait (`restartWaitMs`).
 *
 * Every wait (`waitBeforeRetry`) ends early on `ctx.syncNow$`, except one
 * the server asked for (`Retry-After`, also when stored by an earlier
 * session); a cancel request for the op claimed during a wait settles it
 * as cancelled (`cancelOp`) instead of sending it again.
 *
 * ```
 * api.send    --#500  (wait)  --r|
 * processOp   ------------------|      then (lane): committed
 * ```
 *
 * @example
 * from(ops).pipe(concatMap((op) => processOp(op, ctx)));
 */
export function processOp(op: PendingOp, ctx: ProcessContext): Observable<never> {
  let restarts = 0;
  // Once a cancel was claimed, only the cancellation is written (again
  // after a storage failure): the op is never sent again.
  let cancelled: PendingOp | undefined;
  const isCancel = (err: unknown): boolean => {
    if (!(err instanceof CancelSignal)) return false;
    cancelled = err.op;
    return true;
  };
  return defer(() => (cancelled === undefined ? runOp(op, ctx) : cancelOp(cancelled, ctx))).pipe(
    retry({
      delay: (err: unknown) => {
        if (isCancel(err)) return of(0);
        // Storage trouble (or a bug) must not fail the op: nothing about it
        // is known to be wrong. Report it and start over after a wait.
        const error = err instanceof SyncError ? err.toInfo() : new StorageError('unavailable').toInfo();
        const waitMs = restartWaitMs(restarts++, ctx.backoff, ctx.random, ctx.backoffFactor());
        ctx.report({ type: 'waiting', opId: op.id, nextAttemptAt: ctx.now() + waitMs, error });
        return waitBeforeRetry(waitMs, cancelled ?? op, ctx, true).pipe(catchError((e: unknown) => (isCancel(e) ? of(0) : throwError(() => e))));
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

/**
 * A stored wait from an earlier session is honoured, except one caused by
 * the network being down: the gate only opens again once it is back. It is
 * an absolute wall-clock time, so it is capped on read: a clock stepped back
 * since it was written must not park the queue (`storedWaitMs`). "Sync now"
 * ends it unless the stored error carried the server's `Retry-After`.
 */
function storedWait(op: PendingOp, ctx: ProcessContext): Observable<never> {
  const at = op.nextAttemptAt;
  if (at === null || op.lastError?.kind === 'network') return EMPTY;
  const t = ctx.now();
  const wait = storedWaitMs(at, t, op.lastError, ctx.backoffFactor(), ctx.backoff);
  if (wait <= 0) return EMPTY;
  ctx.report({ type: 'waiting', opId: op.id, nextAttemptAt: t + wait });
  return waitBeforeRetry(wait, op, ctx, op.lastError?.retryAfterMs === undefined).pipe(ignoreElements());
}

/** Waits for credentials: after the settlements still in the lane, so whoever reacts has their outcomes already. */
function awaitCredentials(ctx: ProcessContext): Observable<never> {
  return concat(
    ctx.lane.drained$,
    defer(() => {
      ctx.report({ type: 'authRequired', at: ctx.now() });
      return NEVER;
    }),
  );
}

function sendUntilSettled(initial: PendingOp, ctx: ProcessContext): Observable<never> {
  const state: AttemptState = { op: initial, attempt: 0 };
  // Consecutive failed tries (the backoff exponent); a restart resumes from
  // the persisted budget count.
  let failures = initial.attempts;

  // Carry out the retry decision: persist the new schedule, then wait.
  const retryOrGiveUp = (err: unknown): Observable<unknown> => {
    if (err instanceof AuthRequiredSignal) return throwError(() => err);
    const decision = retryDecision(state.op, err, failures, ctx.backoff, ctx.random, ctx.backoffFactor());
    if (decision.action === 'restart') return throwError(() => err);
    const error = err as SyncError;
    if (decision.action !== 'retry') {
      if (decision.action === 'fail' && decision.attempts !== undefined) {
        state.op = { ...state.op, attempts: decision.attempts, lastError: error.toInfo() };
      }
      return throwError(() => new GiveUp(decision, error));
    }
    failures += 1;
    const { waitMs } = decision;
    const lastError = error.toInfo();
    const nextAttemptAt = ctx.now() + waitMs;
    const op = (state.op = { ...state.op, attempts: decision.attempts, lastError, nextAttemptAt });
    // Persist before waiting: a restart resumes this schedule.
    return ctx.store.update(op).pipe(
      tap(() => {
        ctx.report({ type: 'backoff', at: ctx.now(), op, delayMs: waitMs, retryAfter: decision.fromRetryAfter, nextAttemptAt, error: lastError });
      }),
      switchMap(() => waitBeforeRetry(waitMs, op, ctx, !decision.fromRetryAfter)),
      map(() => 0),
    );
  };
  const attempts$ = sendWithAuth(state, ctx).pipe(retry({ delay: retryOrGiveUp }));

  const settle = (): Observable<never> => {
    // Usually nothing to wait for: then no concat around the attempts.
    const wait$ = storedWait(state.op, ctx);
    // The attempts emit one answer at most (retry resubscribes on errors
    // only), so switching to the commit is concatMap without its buffer.
    return switchTo(wait$ === EMPTY ? attempts$ : concat(wait$, attempts$), (res) => commit(state.op, res.data, ctx)).pipe(
      catchError((err: unknown) => {
        if (err instanceof AuthRequiredSignal) return awaitCredentials(ctx);
        if (!(err instanceof GiveUp)) return throwError(() => err);
        if (err.decision.action === 'fail') return failOp(state.op, err.decision.reason, err.error, ctx);
        return resolveConflict(state.op, err.error as ConflictError, ctx).pipe(
          switchMap((next) => {
            if (next === null) return of<never>();
            state.op = next;
            failures = 0;
            return settle();
          }),
        );
      }),
    );
  };
  return settle();
}
