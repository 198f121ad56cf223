import {
  catchError,
  concat,
  concatMap,
  defaultIfEmpty,
  defer,
  from,
  isObservable,
  of,
  take,
  type Observable,
  type ObservableInput,
} from 'rxjs';
import type { ConflictError } from '../src/errors/sync-error';
import { rekeyForRewrite } from '../src/idempotency/rekey-for-rewrite';
import type { PendingOp } from '../src/op/pending-op';
import type { OpRouter } from '../src/router/op-router';
import { failOp, type SettleContext } from './settle-op';

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

/** What resolving a conflict needs beyond settling: the app's hook and the router (to validate a new payload). */
export interface ConflictContext extends SettleContext {
  readonly router: Pick<OpRouter, 'validate'>;
  readonly reconcile?: Reconcile;
}

const FAIL: ReconcileDecision = { action: 'fail' };

const isThenable = (v: unknown): v is PromiseLike<unknown> =>
  typeof v === 'object' && v !== null && typeof (v as PromiseLike<unknown>).then === 'function';

/** A plain decision is used as is (synchronous, virtual-time friendly); a Promise or Observable is awaited. */
const decisionOf = (value: ReconcileDecision | ObservableInput<ReconcileDecision>): Observable<ReconcileDecision> =>
  isObservable(value) || isThenable(value) ? from(value as ObservableInput<ReconcileDecision>) : of(value as ReconcileDecision);

/** The app's first answer; none, a throw or a rejection means `fail`. */
function decide(op: PendingOp, conflict: ConflictError, ctx: ConflictContext): Observable<ReconcileDecision> {
  const { reconcile } = ctx;
  if (reconcile === undefined) return of(FAIL);
  return defer(() => decisionOf(reconcile(op, conflict))).pipe(
    take(1),
    defaultIfEmpty(FAIL),
    catchError(() => of(FAIL)),
  );
}

/**
 * Carry out the app's answer to a 409 domain conflict: emits the op to send
 * next (`retry`: the new payload under a NEW idempotency key, persisted) or
 * `null` once the op left the queue (`drop`, `fail`, or a retry payload that
 * fails validation), then completes. Reports a `conflict` outcome with the
 * resolution once its write landed.
 *
 * ```
 * reconcile → retry   --update--(n|)     n: the rewritten op
 * reconcile → drop    --fail--discard--(x|)   x: null
 * ```
 *
 * @example
 * resolveConflict(op, err, ctx).pipe(switchMap((next) => (next === null ? EMPTY : send(next))));
 */
export function resolveConflict(op: PendingOp, conflict: ConflictError, ctx: ConflictContext): Observable<PendingOp | null> {
  return decide(op, conflict, ctx).pipe(
    concatMap((decision): Observable<PendingOp | null> => {
      if (decision.action === 'retry') return retryWith(op, decision.payload, conflict, ctx);
      if (decision.action === 'drop') return concat(drop(op, conflict, ctx), of(null));
      return concat(failOp(op, 'conflict', conflict, ctx, true), of(null));
    }),
  );
}

function retryWith(op: PendingOp, payload: unknown, conflict: ConflictError, ctx: ConflictContext): Observable<PendingOp | null> {
  try {
    ctx.router.validate(op.type, payload);
  } catch {
    return concat(failOp(op, 'conflict', conflict, ctx, true), of(null));
  }
  const error = conflict.toInfo();
  // A new payload is a new request: it must not reuse the old key, or the
  // server would replay (or refuse) the first request's answer.
  const next: PendingOp = rekeyForRewrite(op, payload, error);
  const retried$ = ctx.lane.runAndWait(ctx.store.rewrite(next), () => {
    ctx.report({ type: 'conflict', at: ctx.now(), op, error, message: conflict.userMessage, resolution: 'retry' });
  });
  return concat(retried$, of(next));
}

function drop(op: PendingOp, conflict: ConflictError, ctx: ConflictContext): Observable<never> {
  const error = conflict.toInfo();
  // No "remove" in the store contract: dead-letter it, then discard the
  // record. A crash in between leaves it in failed_ops (kept, not lost).
  const write$ = concat(ctx.store.fail(op, { reason: 'dropped', error, failedAt: ctx.now() }), ctx.store.discardFailed(op.id));
  return ctx.lane.runAndWait(write$, () => {
    ctx.report({ type: 'conflict', at: ctx.now(), op, error, message: conflict.userMessage, resolution: 'drop' });
  });
}
