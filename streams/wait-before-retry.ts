import { EMPTY, filter, map, merge, take, timer, type Observable, type SchedulerLike } from 'rxjs';
import type { OpId, PendingOp } from '../src/op/pending-op';

/**
 * A request to cancel the op `opId`. The processing that holds it in a wait
 * calls `claim()` at once (synchronously, inside `next`), so whoever asked
 * knows whether the wait took it; nobody claims an op that is being sent.
 */
export interface CancelRequest {
  readonly opId: OpId;
  claim(): void;
}

/** What a wait listens to besides its timer; both hot, both optional. */
export interface WaitContext {
  readonly scheduler: SchedulerLike;
  /** "Sync now": ends every wait the client chose (not a server's `Retry-After`). */
  readonly syncNow$?: Observable<unknown>;
  /** Cancel requests: a wait of the named op claims it and errors with `CancelSignal`. */
  readonly cancel$?: Observable<CancelRequest>;
}

/** A wait of `op` was cancelled: carried to where the op is settled as cancelled. */
export class CancelSignal {
  constructor(readonly op: PendingOp) {}
}

/** Why a wait ended. */
export type WaitEnd = 'elapsed' | 'syncNow';

/**
 * Wait `ms` before trying `op` again: emits once — `elapsed`, or `syncNow`
 * when `ctx.syncNow$` emits first and the wait is `interruptible` (the
 * client's own backoff; a server's `Retry-After` is not) — and completes.
 * A cancel request for `op` during the wait is claimed and ends it with a
 * `CancelSignal` error. Every wait of `processOp` goes through here.
 *
 * ```
 * timer        ----------e|
 * syncNow$     ---s--
 * wait         ---(s|)            interruptible
 * wait         ----------(e|)     not interruptible (Retry-After)
 * cancel$      --c--              c: { opId: op.id }
 * wait         --#                # CancelSignal(op); c.claim() called
 * ```
 *
 * @example
 * retry({ delay: () => waitBeforeRetry(decision.waitMs, op, ctx, !decision.fromRetryAfter) });
 */
export function waitBeforeRetry(ms: number, op: PendingOp, ctx: WaitContext, interruptible: boolean): Observable<WaitEnd> {
  const elapsed$ = timer(ms, ctx.scheduler).pipe(map((): WaitEnd => 'elapsed'));
  const syncNow$ = interruptible && ctx.syncNow$ !== undefined ? ctx.syncNow$.pipe(map((): WaitEnd => 'syncNow')) : EMPTY;
  const cancelled$ =
    ctx.cancel$ === undefined
      ? EMPTY
      : ctx.cancel$.pipe(
          filter((request) => request.opId === op.id),
          map((request): WaitEnd => {
            request.claim();
            throw new CancelSignal(op);
          }),
        );
  return merge(elapsed$, syncNow$, cancelled$).pipe(take(1));
}
