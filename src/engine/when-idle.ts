import {
  EMPTY,
  NEVER,
  catchError,
  concat,
  defer,
  endWith,
  expand,
  filter,
  first,
  fromEvent,
  ignoreElements,
  lastValueFrom,
  map,
  merge,
  startWith,
  switchMap,
  take,
  throwError,
  timer,
  type Observable,
  type SchedulerLike,
} from 'rxjs';
import type { StorePort } from '../../streams/ports';
import type { SettleLane } from '../../streams/settle-lane';
import { TimeoutError } from '../errors/sync-error';
import type { OpId, PendingOp } from '../op/pending-op';
import { sentUnder } from '../op/sent-under';
import { timerOptionMs } from '../policy/timer-option';

/** Options of `engine.whenIdle`. */
export interface WhenIdleOptions {
  /** Reject with `TimeoutError` (`code: 'idle_timeout'`) after this long, ms (at most 2^31 − 1). Default: no limit. */
  readonly timeoutMs?: number;
  /** Reject with `signal.reason` once it aborts (at once if it already has). */
  readonly signal?: AbortSignal;
}

/** What `settledThrough$` reads. */
export interface IdleSources {
  readonly store: Pick<StorePort, 'peek'>;
  /** Where ops leave the queue: drained ⇔ every settlement written and its result emitted. */
  readonly lane: Pick<SettleLane, 'drained$'>;
  /** When to look again: the queue's own changes, results, a poll for other holders. */
  readonly recheck$: Observable<unknown>;
  /**
   * Whether a pending op is owed to this caller: the drain would send it now
   * (not another account's op, which waits for its own sign-in). Default: all.
   */
  readonly owed?: (op: PendingOp) => boolean;
}

/**
 * Whether `whenIdle` waits for `op`: the drain would send it now. Without
 * accounts (`accountsInUse` false), every op with no account (one stamped
 * by an earlier run with `account$` is never sent); signed in as
 * `account`, its ops and ops with no account; signed out (`account`
 * null), none — the gate is closed and every pending op waits for an
 * account, as `status$.waitingForAccount` counts them.
 *
 * @example
 * owedNow({ accountId: 'ada' }, 'bob', true); // false: Ada's op waits for her sign-in
 */
export function owedNow(op: Pick<PendingOp, 'accountId'>, account: string | null, accountsInUse: boolean): boolean {
  return !(accountsInUse && account === null) && sentUnder(op, account);
}

/** Ops read per page while looking past other accounts' ops for one still owed. */
const OWED_PAGE = 50;

/**
 * Completes once no op with an id up to `boundary` is pending and every
 * settlement of this engine has landed with its result: the lane drained,
 * then the head of the queue read — empty, or an op after `boundary`. Op
 * ids are UUIDv7, the queue's FIFO key, so `boundary = createOpId()` taken
 * at a call stands for "every op queued before it". Looks again on each
 * `recheck$` (a look in progress is dropped for the newer one); a failed
 * read waits for the next. Never errors.
 *
 * ```
 * recheck$     ------r-------r--
 * head         a.....a.......(none)
 * settled      --------------|
 * ```
 *
 * @example
 * settledThrough$(createOpId(), { store, lane, recheck$: store.changes$ }).subscribe({ complete: () => done() });
 */
export function settledThrough$(boundary: OpId, src: IdleSources): Observable<never> {
  return src.recheck$.pipe(
    startWith(undefined),
    switchMap(() => concat(src.lane.drained$, owedThrough$(boundary, src)).pipe(catchError(() => EMPTY))),
    first((owed) => !owed),
    ignoreElements(),
  );
}

/**
 * Whether any op up to `boundary` is still pending and owed, read from the
 * head page by page (only past ops that are not owed: usually one read of
 * one page). Emits once.
 */
function owedThrough$(boundary: OpId, src: IdleSources): Observable<boolean> {
  const owed = src.owed ?? (() => true);
  const page = (after?: OpId) => src.store.peek(OWED_PAGE, after);
  const owes = (ops: readonly PendingOp[]): boolean => ops.some((op) => op.id <= boundary && owed(op));
  return page().pipe(
    expand((ops) => {
      const last = ops[ops.length - 1];
      return ops.length < OWED_PAGE || last === undefined || last.id > boundary || owes(ops) ? EMPTY : page(last.id);
    }),
    map(owes),
    first((o) => o, false),
  );
}

/**
 * `idle$` with the limits of `WhenIdleOptions`, as a Promise: resolves when
 * it completes, rejects with a `TimeoutError` (`code: 'idle_timeout'`)
 * after `timeoutMs` on `scheduler`, with `signal.reason`, or with the error
 * of `closed$` (the engine was disposed).
 *
 * @example
 * await untilIdle(settledThrough$(boundary, sources), { timeoutMs: 5_000 }, scheduler);
 */
export function untilIdle(
  idle$: Observable<never>,
  options: WhenIdleOptions,
  scheduler: SchedulerLike,
  closed$: Observable<never> = NEVER,
): Promise<void> {
  let limits$: Observable<never>;
  try {
    limits$ = merge(timeoutAfter(options.timeoutMs, scheduler), abortedBy(options.signal), closed$);
  } catch (err) {
    return Promise.reject(err);
  }
  return lastValueFrom(merge(idle$.pipe(endWith(undefined)), limits$).pipe(take(1)));
}

function timeoutAfter(timeoutMs: number | undefined, scheduler: SchedulerLike): Observable<never> {
  if (timeoutMs === undefined) return NEVER;
  const ms = timerOptionMs('timeoutMs', timeoutMs);
  return timer(ms, scheduler).pipe(switchMap(() => throwError(() => new TimeoutError({ code: 'idle_timeout' }))));
}

function abortedBy(signal: AbortSignal | undefined): Observable<never> {
  if (signal === undefined) return NEVER;
  return defer(() => (signal.aborted ? [undefined] : fromEvent(signal, 'abort'))).pipe(
    filter(() => signal.aborted),
    map(() => {
      throw signal.reason;
    }),
  );
}
