import {
  EMPTY,
  ReplaySubject,
  concat,
  concatMap,
  defer,
  endWith,
  exhaustMap,
  finalize,
  expand,
  from,
  ignoreElements,
  map,
  merge,
  retry,
  startWith,
  subscribeOn,
  take,
  tap,
  timer,
  type Observable,
  type SchedulerLike,
} from 'rxjs';
import type { OpId, PendingOp } from '../src/op/pending-op';
import { SyncError } from '../src/errors/sync-error';
import type { ErrorInfo } from '../src/errors/sync-error';
import type { StorePort } from './ports';
import type { SettleLane } from './settle-lane';

/** What both drains (`drainQueue`, `keyedDrain`) take besides how they process. */
export interface DrainCommonOptions {
  readonly store: Pick<StorePort, 'peek'>;
  /** Emits when the queue may have grown (appends, retries from failed_ops, a poll, "sync now"). */
  readonly wake$: Observable<unknown>;
  /**
   * Ops the drain leaves where they are, untouched (not processed, nothing
   * written): e.g. the ops of an account that is not signed in. Each
   * account's ops keep their order; they do not block the others.
   */
  readonly skip?: (op: PendingOp) => boolean;
  /** Where ops settle: the drain reads from the head only once it is drained. */
  readonly lane: Pick<SettleLane, 'drained$' | 'failures$'>;
  /**
   * Called each time the queue was found empty with every settlement landed
   * (e.g. to resynchronise counts), with the number of ops skipped since
   * the last read from the head.
   */
  readonly onIdle?: (skipped: number) => void;
  /** Called when reading the queue or a handed commit fails (retried after `retryMs`, or at once on `syncNow$`). */
  readonly onError?: (error: ErrorInfo) => void;
  readonly retryMs: number;
  /** "Sync now": ends the wait after a storage failure at once. */
  readonly syncNow$?: Observable<unknown>;
  readonly scheduler: SchedulerLike;
}

/** Inputs of `drainQueue`. */
export interface DrainOptions extends DrainCommonOptions {
  /** Ops read per `peek` (bounded memory). */
  readonly batchSize: number;
  /**
   * Processes one op; must never error. Completes when the op left the head
   * or its settlement was handed to `lane`.
   */
  readonly process: (op: PendingOp) => Observable<unknown>;
  /**
   * Where the read of the next batch starts while a batch is processed: a
   * task after the current one, so the first op's request goes out first.
   * Default `scheduler`.
   */
  readonly readAheadScheduler?: SchedulerLike;
}

/** One read of the queue. */
interface Read {
  readonly batch: readonly PendingOp[];
  /** Wakes counted when the read started. */
  readonly seen: number;
}

/**
 * Drain the durable queue in strict FIFO order, pulling the head in batches
 * of `batchSize` and processing one op at a time (`concatMap`). The next
 * batch (the ops after the current batch's last) is read while the current
 * one is processed, so decrypting and decoding it is not on the way between
 * two requests; it never holds more than two batches. When a pass finds the
 * queue empty it waits for `wake$` — an empty queue costs no polling. A
 * wake that arrives while a pass is reading is not lost: the pass reads
 * again before going idle.
 *
 * Commits are handed to the settle lane while the next op is sent, so a
 * pass reads the head only once the lane is drained, reads each next batch
 * after the last op it took (`peek(n, afterId)`: ops whose commit is still
 * being written are not read again), and goes idle only once every commit
 * has landed.
 *
 * Ops `skip` says to leave (another account's) are passed over untouched:
 * every pass reads them again, so their cost is a read per pass, never a
 * write; each pass counts them for `onIdle`.
 *
 * Never errors: a failed read is reported and retried after `retryMs`; a
 * failed handed commit is reported and the pass starts over from the head
 * after `retryMs` (the ops behind it are sent again; the server replays).
 * `syncNow$` ends either wait at once.
 *
 * @example
 * gate$.pipe(switchMap((open) => (open ? drainQueue({ store, batchSize: 20, wake$, process, lane, retryMs: 1000, scheduler }) : EMPTY)));
 */
export function drainQueue(options: DrainOptions): Observable<never> {
  const { store, batchSize, process, lane, scheduler } = options;
  const readAheadScheduler = options.readAheadScheduler ?? scheduler;
  const retryAfterReport = (err: unknown) => {
    options.onError?.(err instanceof SyncError ? err.toInfo() : { kind: 'storage' });
    return options.syncNow$ === undefined ? timer(options.retryMs, scheduler) : merge(timer(options.retryMs, scheduler), options.syncNow$).pipe(take(1));
  };
  const { skip } = options;
  return defer(() => {
    // Wakes seen so far; a pass compares it before and after its read.
    let wakes = 0;
    // Ops skipped since the pass last read from the head.
    let skipped = 0;
    const processOrSkip = (op: PendingOp): Observable<unknown> => {
      if (skip === undefined || !skip(op)) return process(op);
      skipped += 1;
      return EMPTY;
    };
    // From the head once every commit landed; else after the last op taken.
    const read$ = (afterId?: OpId): Observable<Read> =>
      defer(() => {
        const seen = wakes;
        if (afterId === undefined) skipped = 0;
        const peek$ = store.peek(batchSize, afterId).pipe(map((batch) => ({ batch, seen })));
        return afterId === undefined ? concat(lane.drained$, peek$) : peek$;
      }).pipe(retry({ delay: retryAfterReport }));
    const pass$ = read$().pipe(
      expand(({ batch, seen }) => {
        if (batch.length === 0) {
          // Idle only once the commits landed (one may fail and restart the pass).
          return concat(
            lane.drained$,
            defer(() => {
              if (wakes !== seen) return read$();
              options.onIdle?.(skipped);
              return EMPTY;
            }),
          );
        }
        const last = batch[batch.length - 1] as PendingOp;
        // Read ahead: the ops after this batch are not touched by processing
        // it (only the op being processed is updated; appends and retries get
        // later ids and wake the drain).
        return defer(() => {
          const ahead = new ReplaySubject<Read>(1);
          const reading = read$(last.id).pipe(subscribeOn(readAheadScheduler)).subscribe(ahead);
          return concat(from(batch).pipe(concatMap(processOrSkip), ignoreElements()), ahead.pipe(take(1))).pipe(
            finalize(() => reading.unsubscribe()),
          );
        });
      }, 1),
      ignoreElements(),
    );
    // A failed handed commit ends the pass; it starts over from the head.
    const failed$ = lane.failures$.pipe(
      map((err) => {
        throw err;
      }),
    );
    const guardedPass$ = merge(pass$.pipe(endWith(true)), failed$).pipe(take(1), ignoreElements(), retry({ delay: retryAfterReport }));
    return options.wake$.pipe(
      startWith(undefined),
      tap(() => {
        wakes += 1;
      }),
      exhaustMap(() => guardedPass$),
    );
  });
}
