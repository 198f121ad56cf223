import {
  EMPTY,
  NEVER,
  catchError,
  concat,
  concatMap,
  defer,
  from,
  ignoreElements,
  map,
  merge,
  mergeMap,
  of,
  switchMap,
  take,
  tap,
  throwError,
  toArray,
  type Observable,
} from 'rxjs';
import { BATCH_MISMATCH } from '../src/api/batch-answer';
import { AuthError, MalformedResponseError, SyncError, type ConflictError } from '../src/errors/sync-error';
import { BATCH_NOT_APPLIED_STATUS } from '../src/policy/classify-batch-entry';
import type { PendingOp } from '../src/op/pending-op';
import { classifyError } from '../src/policy/classify-error';
import { restartWaitMs, retryDecision } from '../src/policy/retry-decision';
import type { BatchEntryRequest, BatchEntryResult, BatchSender } from './batch-port';
import type { UnitEvent } from './keyed-drain';
import { processOp, type ProcessContext } from './process-op';
import { resolveConflict } from './resolve-conflict';
import { AuthRequiredSignal, limited } from './send-attempt';
import { commit, completeFromLedger, failOp } from './settle-op';
import { waitBeforeRetry } from './wait-before-retry';

/** What a batch needs besides one op's context: the batch endpoint. */
export interface BatchContext extends ProcessContext {
  readonly batchApi: BatchSender;
  /** The batch endpoint below `baseUrl`, e.g. `/batch`. */
  readonly batchPath: string;
}

const finished = (op: PendingOp): UnitEvent => ({ op, back: false });
const handedBack = (op: PendingOp): UnitEvent => ({ op, back: true });

/** The op as one entry: built once per batch; a throw (an op the router refuses) is the op's own failure. */
function entryOf(op: PendingOp, ctx: BatchContext): BatchEntryRequest {
  const { method, path, body } = ctx.router.toRequest(op);
  return { method, path, body, idempotencyKey: op.idempotencyKey, traceId: op.traceId };
}

/**
 * Process a batch of ops (FIFO order, several may share a key) with one
 * request: ledger check (unless the store completes atomically), one
 * `sendBatch` behind the rate limiter and a request slot (one token, one
 * slot), then each entry's result through the same handling as a single
 * op — a 2xx is committed (handed to the lane), a permanent refusal goes
 * to `failed_ops`, a domain 409 to `reconcile`, a 401 or a transient
 * failure makes that op retry alone (its schedule persisted first; later
 * ops of its key were not applied and come back), `notApplied` hands the
 * op back untouched. A whole-request failure retries the batch after a
 * backoff wait (attempts counted on every op; the budget spent → every op
 * to `failed_ops`); a 401 refreshes once; a 413 splits the batch in halves
 * (sent one after the other); a domain 409 on the whole request sends each
 * op alone. Emits a `UnitEvent` per op as it is done with it; never errors.
 *
 * ```
 * sendBatch   --[ok, 503, 424]|
 * events      --(a b)------------------b'|    a: finished (committed)
 *                                             b: retries alone; c handed back
 * ```
 *
 * @example
 * keyedDrain({ ..., process: (ops) => (ops.length === 1 ? processOp(ops[0], ctx) : processBatch(ops, ctx)) });
 */
export function processBatch(ops: readonly PendingOp[], ctx: BatchContext): Observable<UnitEvent> {
  if (ops.length === 1) return alone(ops[0] as PendingOp, ctx);
  if (ctx.store.completesAtomically === true) return sendBatchUntilSettled(ops, ctx);
  return from(ops).pipe(
    concatMap((op) => ctx.store.isCompleted(op.idempotencyKey).pipe(map((done) => ({ op, done })))),
    toArray(),
    // Storage trouble before anything was sent: each op alone (the single
    // path waits and starts over).
    catchError(() => of(null)),
    switchMap((checked) => {
      if (checked === null) return from(ops).pipe(concatMap((op) => alone(op, ctx)));
      const inLedger = checked.filter((c) => c.done).map((c) => c.op);
      const rest = checked.filter((c) => !c.done).map((c) => c.op);
      const fromLedger$ = from(inLedger).pipe(concatMap((op) => concat(completeFromLedger(op, ctx), of(finished(op)))));
      return concat(fromLedger$, rest.length === 0 ? EMPTY : sendBatchUntilSettled(rest, ctx));
    }),
  );
}

/** One op on its own: the single-op path. */
function alone(op: PendingOp, ctx: BatchContext): Observable<UnitEvent> {
  return concat(processOp(op, ctx), of(finished(op)));
}

function sendBatchUntilSettled(initial: readonly PendingOp[], ctx: BatchContext): Observable<UnitEvent> {
  // Ops the router refuses are their own failure (single path); the rest travel together.
  const entries: BatchEntryRequest[] = [];
  const ops: PendingOp[] = [];
  const refused: PendingOp[] = [];
  for (const op of initial) {
    try {
      entries.push(entryOf(op, ctx));
      ops.push(op);
    } catch {
      refused.push(op);
    }
  }
  const refused$ = from(refused).pipe(mergeMap((op) => alone(op, ctx)));
  if (ops.length <= 1) return merge(refused$, ops.length === 1 ? alone(ops[0] as PendingOp, ctx) : EMPTY);
  let current = ops;
  // A batch's waits end on "sync now"; a cancel request is not taken during
  // them (the batch's ops are in flight for `cancel`).
  const waitCtx = { scheduler: ctx.scheduler, syncNow$: ctx.syncNow$ };
  let failures = 0;
  let restarts = 0;
  let attempt = 0;

  // The fence (`ctx.admit`) first, as for a single op: a holder that lost
  // its lock reports no attempt (refused: nothing starts; the lost lock
  // closes the gate). A failed check is the attempt's own failure.
  const admitted$ = (): Observable<true | { readonly raw: unknown }> =>
    ctx.admit === undefined
      ? of(true as const)
      : ctx.admit().pipe(
          take(1),
          switchMap((ok) => (ok ? of(true as const) : NEVER)),
          catchError((raw: unknown) => of({ raw })),
        );
  const attempt$ = (): Observable<UnitEvent> =>
    admitted$().pipe(
      switchMap((admitted) => {
        attempt += 1;
        const started = ctx.now();
        for (const op of current) ctx.report({ type: 'attemptStarted', at: started, op, attempt });
        if (admitted !== true) return onWholeFailure(admitted.raw, started);
        return sendWithAuth(current, entries, ctx).pipe(
          tap({ subscribe: () => current.forEach((op) => ctx.report({ type: 'sending', opId: op.id })) }),
          switchMap((results) => settleEntries(current, results, ctx, started, attempt)),
          catchError((err: unknown) => onWholeFailure(err, started)),
        );
      }),
    );

  const onWholeFailure = (raw: unknown, started: number): Observable<UnitEvent> => {
    if (raw instanceof AuthRequiredSignal) return awaitCredentials(ctx);
    const err = classifyError(raw);
    for (const op of current) ctx.report({ type: 'attemptFailed', at: ctx.now(), op, attempt, error: err.toInfo(), durationMs: ctx.now() - started });
    // Too large for the server: halves, one after the other (a key may span both).
    if (err.status === 413) return split(current, ctx);
    const most = Math.max(...current.map((op) => op.attempts));
    const decision = retryDecision({ attempts: most }, err, failures, ctx.backoff, ctx.random, ctx.backoffFactor());
    if (decision.action === 'reconcile') return from(current).pipe(concatMap((op) => alone(op, ctx)));
    if (decision.action === 'restart') {
      const waitMs = restartWaitMs(restarts++, ctx.backoff, ctx.random, ctx.backoffFactor());
      return waitBeforeRetry(waitMs, current[0] as PendingOp, waitCtx, true).pipe(switchMap(() => attempt$()));
    }
    const lastError = err.toInfo();
    if (decision.action === 'fail') {
      const counted = decision.attempts !== undefined;
      return from(current).pipe(
        concatMap((op) => {
          const failed = counted ? { ...op, attempts: op.attempts + 1, lastError } : op;
          return concat(failOp(failed, decision.reason, err, ctx), of(finished(op)));
        }),
      );
    }
    failures += 1;
    const { waitMs } = decision;
    const nextAttemptAt = ctx.now() + waitMs;
    const bump = err.consumesAttempt ? 1 : 0;
    current = current.map((op) => ({ ...op, attempts: op.attempts + bump, lastError, nextAttemptAt }));
    // Persist before waiting: a restart resumes this schedule (a failed
    // write only loses the schedule; the batch is retried all the same).
    const persist$ = from(current).pipe(
      concatMap((op) => ctx.store.update(op)),
      ignoreElements(),
      catchError(() => EMPTY),
    );
    const wait$ = defer(() => {
      for (const op of current) {
        ctx.report({ type: 'backoff', at: ctx.now(), op, delayMs: waitMs, retryAfter: decision.fromRetryAfter, nextAttemptAt, error: lastError });
      }
      return waitBeforeRetry(waitMs, current[0] as PendingOp, waitCtx, !decision.fromRetryAfter).pipe(ignoreElements());
    });
    return concat(persist$, wait$, defer(() => attempt$()));
  };

  return merge(refused$, attempt$());
}

/** 413: each half as its own batch, the first settled (or handed on) before the second is sent. */
function split(ops: readonly PendingOp[], ctx: BatchContext): Observable<UnitEvent> {
  const half = Math.ceil(ops.length / 2);
  return concat(processBatch(ops.slice(0, half), ctx), defer(() => processBatch(ops.slice(half), ctx)));
}

/** Waits for credentials: after the settlements still in the lane (as `processOp` does). */
function awaitCredentials(ctx: BatchContext): Observable<never> {
  return concat(
    ctx.lane.drained$,
    defer(() => {
      ctx.report({ type: 'authRequired', at: ctx.now() });
      return NEVER;
    }),
  );
}

/** One batch request with the current token; a 401 refreshes once and tries once more (as `sendWithAuth`). */
function sendWithAuth(ops: readonly PendingOp[], entries: readonly BatchEntryRequest[], ctx: BatchContext): Observable<readonly BatchEntryResult[]> {
  const send = (token: string | null) =>
    limited(ctx.batchApi.sendBatch({ path: ctx.batchPath, token, entries, headers: ctx.requestHeaders?.(ops[0] as PendingOp) }), ctx);
  const authRequired = (reason: unknown): Observable<never> => {
    const error = reason instanceof SyncError ? reason.toInfo() : new AuthError({ code: 'refresh_failed' }).toInfo();
    ctx.report({ type: 'authFailed', error });
    return throwError(() => new AuthRequiredSignal());
  };
  const isAuth = (err: unknown): boolean => err instanceof SyncError && err.kind === 'auth';
  return ctx.auth.token().pipe(
    catchError((err: unknown) => (isAuth(err) ? authRequired(err) : throwError(() => err))),
    switchMap((token) => {
      if (token === null && ctx.auth.anonymous !== true) return throwError(() => new AuthRequiredSignal());
      return send(token).pipe(
        catchError((err: unknown) => {
          if (!isAuth(err)) return throwError(() => err);
          return ctx.auth.refresh(token).pipe(
            catchError(authRequired),
            switchMap((fresh) => send(fresh)),
            catchError((e: unknown) => (isAuth(e) ? authRequired(e) : throwError(() => e))),
          );
        }),
      );
    }),
  );
}

/**
 * Each entry's result, in order: settled as a single op's answer would be.
 * Settlements are started in entry order (the lane keeps that order); an op
 * that retries alone does not hold up the others.
 */
function settleEntries(
  ops: readonly PendingOp[],
  results: readonly BatchEntryResult[],
  ctx: BatchContext,
  started: number,
  attempt: number,
): Observable<UnitEvent> {
  // Each handler runs when subscribed, in entry order: a handed-off commit
  // and a dead-letter write reach the lane in FIFO order.
  const answers = explainNotApplied(results, ops.length);
  return merge(
    ...ops.map((op, i) => defer(() => {
      const result = answers[i] as BatchEntryResult;
      const durationMs = ctx.now() - started;
      if (result.kind === 'notApplied') return of(handedBack(op));
      let error: SyncError;
      if (result.kind === 'ok') {
        try {
          const data = ctx.router.decodeResponse(op.type, result.response.data);
          ctx.report({ type: 'attemptSucceeded', at: ctx.now(), op, attempt, status: result.response.status, durationMs });
          return concat(commit(op, data, ctx), of(finished(op)));
        } catch (raw) {
          error = classifyError(raw);
        }
      } else {
        error = classifyError(result.error);
      }
      ctx.report({ type: 'attemptFailed', at: ctx.now(), op, attempt, error: error.toInfo(), durationMs });
      return concat(entryFailed(op, error, ctx), of(finished(op)));
    })),
  );
}

/**
 * The results as settled: a `424 notApplied` counts only after an earlier
 * entry of the same answer failed (what stops a batch, by the contract).
 * One with no failure before it cannot be matched to the request: it is
 * that entry's own ambiguous failure (`batchMismatch`), retried alone after
 * a backoff wait with an attempt spent — so a server answering 424 to an
 * entry forever ends in its attempt budget (`failed_ops`), not in an
 * endless, unseen re-send of the same batch. Every op handed back stays
 * bounded too: the failure before it takes its own op off the batch path.
 *
 * ```
 * results   [ok, 424, 503, 424]
 * settled   [ok, batchMismatch, 503, notApplied]
 * ```
 */
function explainNotApplied(results: readonly BatchEntryResult[], count: number): BatchEntryResult[] {
  let failedBefore = false;
  const out: BatchEntryResult[] = [];
  for (let i = 0; i < count; i++) {
    const result = results[i] ?? { kind: 'notApplied' };
    if (result.kind === 'notApplied' && !failedBefore) {
      out.push({ kind: 'error', error: new MalformedResponseError({ status: BATCH_NOT_APPLIED_STATUS, code: BATCH_MISMATCH }) });
      continue;
    }
    if (result.kind === 'error') failedBefore = true;
    out.push(result);
  }
  return out;
}

/** An entry's own failure: the retry policy decides, as for a single op. */
function entryFailed(op: PendingOp, err: SyncError, ctx: BatchContext): Observable<never> {
  // A 401 for one entry: that op alone, with the single path's refresh (no attempt spent).
  if (err.kind === 'auth') return processOp(op, ctx);
  const decision = retryDecision(op, err, op.attempts, ctx.backoff, ctx.random, ctx.backoffFactor());
  switch (decision.action) {
    case 'restart':
      return processOp(op, ctx);
    case 'fail': {
      const failed = decision.attempts === undefined ? op : { ...op, attempts: decision.attempts, lastError: err.toInfo() };
      return failOp(failed, decision.reason, err, ctx);
    }
    case 'reconcile':
      return resolveConflict(op, err as ConflictError, ctx).pipe(switchMap((next) => (next === null ? EMPTY : processOp(next, ctx))));
    case 'retry': {
      // Persist the schedule, then the single path honours it (its stored wait) and sends the op alone.
      const nextAttemptAt = ctx.now() + decision.waitMs;
      const lastError = err.toInfo();
      const waiting: PendingOp = { ...op, attempts: decision.attempts, lastError, nextAttemptAt };
      return ctx.store.update(waiting).pipe(
        tap(() =>
          ctx.report({ type: 'backoff', at: ctx.now(), op: waiting, delayMs: decision.waitMs, retryAfter: decision.fromRetryAfter, nextAttemptAt, error: lastError }),
        ),
        map(() => waiting),
        // Not persisted: the single path retries it from what is stored.
        catchError(() => of(op)),
        switchMap((next) => processOp(next, ctx)),
      );
    }
  }
}
