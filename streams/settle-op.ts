import { EMPTY, concat, type Observable } from 'rxjs';
import type { ErrorInfo, SyncError } from '../src/errors/sync-error';
import type { PendingOp } from '../src/op/pending-op';
import type { FailedRecord, FailureReason } from '../src/store/op-store';
import type { ProcessOutcome } from './outcome';
import type { StorePort } from './ports';
import type { SettleLane } from './settle-lane';

/** What settling an op needs: the store, the lane ops leave the queue through, a clock and the outcome callback. */
export interface SettleContext {
  readonly store: StorePort;
  /** Where ops leave the queue, in order: commits are handed off (`handOff`), other settlements wait (`runAndWait`). */
  readonly lane: SettleLane;
  readonly now: () => number;
  /** Everything that happens to the op, in order (the engine fans it out). */
  readonly report: (outcome: ProcessOutcome) => void;
}

/**
 * The server answered 2xx: hand the ledger write and removal off to the lane and
 * complete at once, so the next op is sent while it is written. Reports
 * `committed` once the write landed. Commits that queued up behind a slow
 * write are written in one transaction where the store has `completeAll`.
 *
 * Ledger first (inside `complete`): a crash after the server's answer and
 * before this write resends with the same key and gets the replay — also
 * when the next op was already sent. In the lane the write runs to its end
 * even if the gate closes meanwhile, and outcomes stay in FIFO order.
 *
 * ```
 * commit(op, data)   |               (returns at once)
 * lane               --write--|      then: committed
 * ```
 *
 * @example
 * switchTo(attempts$, (res) => commit(op, res.data, ctx));
 */
export function commit(op: PendingOp, data: unknown, ctx: SettleContext): Observable<never> {
  const completedAt = ctx.now();
  const { completeAll } = ctx.store;
  // Where the store completes several ops in one transaction, commits that
  // queue up behind a slow write are written together (`Mergeable`).
  const merge = completeAll === undefined ? undefined : { item: { op, completedAt }, writeAll: completeAll };
  ctx.lane.handOff(
    ctx.store.complete(op, completedAt),
    () => {
      ctx.report({ type: 'committed', at: ctx.now(), op, fromLedger: false, data });
    },
    merge,
  );
  return EMPTY;
}

/**
 * The op's key is already in the ledger (a crash hit between the ledger
 * write and the removal): finish without sending. Completes once removed.
 *
 * @example
 * switchTo(store.isCompleted(op.idempotencyKey), (done) => (done ? completeFromLedger(op, ctx) : send$));
 */
export function completeFromLedger(op: PendingOp, ctx: SettleContext): Observable<never> {
  return ctx.lane.runAndWait(ctx.store.complete(op, ctx.now()), () => {
    ctx.report({ type: 'committed', at: ctx.now(), op, fromLedger: true });
  });
}

/**
 * Move the op to `failed_ops` for `reason`; completes once written. Reports
 * `failed`, or — for a conflict reconciliation failed (`asConflict`) — a
 * `conflict` resolved `fail` carrying the record.
 *
 * @example
 * failOp(op, 'permanent', new PermanentError({ status: 400 }), ctx); // --write--|  then: failed
 */
export function failOp(op: PendingOp, reason: FailureReason, err: SyncError, ctx: SettleContext, asConflict = false): Observable<never> {
  const failedAt = ctx.now();
  const error = err.toInfo();
  const record: FailedRecord = { id: op.id, reason, error, attempts: op.attempts, failedAt, op };
  return ctx.lane.runAndWait(ctx.store.fail(op, { reason, error, failedAt }), () => {
    const at = ctx.now();
    const message = err.userMessage;
    ctx.report(
      asConflict
        ? { type: 'conflict', at, op, error, message, resolution: 'fail', record }
        : { type: 'failed', at, op, error, message, record },
    );
  });
}

/** What a cancelled op's transient dead-letter record says (it is discarded at once). */
const CANCELLED_ERROR: ErrorInfo = Object.freeze({ kind: 'validation', code: 'cancelled' });

/**
 * The writes that take a cancelled op out of the queue: dead-letter it as
 * `cancelled`, then discard the record (the store has no "remove"; the
 * `drop` resolution of a conflict does the same). A crash in between leaves
 * it in `failed_ops` as `cancelled`: kept, not lost, not sent.
 *
 * @example
 * ctx.lane.runAndWait(cancelWrite(op, ctx), () => report({ type: 'cancelled', at: ctx.now(), op }));
 */
export function cancelWrite(op: PendingOp, ctx: Pick<SettleContext, 'store' | 'now'>): Observable<void> {
  return concat(ctx.store.fail(op, { reason: 'cancelled', error: CANCELLED_ERROR, failedAt: ctx.now() }), ctx.store.discardFailed(op.id));
}

/**
 * The app cancelled `op` while it waited: remove it (`cancelWrite`) in the
 * lane, after every earlier settlement; completes once written. Reports
 * `cancelled`.
 *
 * ```
 * cancelOp(op)   --fail--discard--|    then: cancelled
 * ```
 *
 * @example
 * catchError((err) => (err instanceof CancelSignal ? cancelOp(err.op, ctx) : throwError(() => err)));
 */
export function cancelOp(op: PendingOp, ctx: SettleContext): Observable<never> {
  return ctx.lane.runAndWait(cancelWrite(op, ctx), () => {
    ctx.report({ type: 'cancelled', at: ctx.now(), op });
  });
}
