import {
  EMPTY,
  concat,
  concatMap,
  defer,
  exhaustMap,
  expand,
  from,
  ignoreElements,
  map,
  retry,
  startWith,
  tap,
  timer,
  type Observable,
  type SchedulerLike,
} from 'rxjs';
import type { PendingOp } from '../src/op/pending-op';
import { SyncError } from '../src/errors/sync-error';
import type { ErrorInfo } from '../src/errors/sync-error';
import type { StorePort } from './ports';

/** Inputs of `drainQueue`. */
export interface DrainOptions {
  readonly store: Pick<StorePort, 'peek'>;
  /** Ops read per `peek` (bounded memory). */
  readonly batchSize: number;
  /** Emits when the queue may have grown (appends, retries from failed_ops). */
  readonly wake$: Observable<unknown>;
  /** Processes one op; must never error and completes when the op left the head. */
  readonly process: (op: PendingOp) => Observable<unknown>;
  /** Called each time the queue was found empty (e.g. to resynchronise counts). */
  readonly onIdle?: () => void;
  /** Called when reading the queue fails (the read is retried after `retryMs`). */
  readonly onError?: (error: ErrorInfo) => void;
  readonly retryMs: number;
  readonly scheduler: SchedulerLike;
}

/**
 * Drain the durable queue in strict FIFO order, pulling the head in batches
 * of `batchSize` and processing one op at a time (`concatMap`); it never
 * holds more than one batch. When a pass finds the queue empty it waits for
 * `wake$` — an empty queue costs no polling. A wake that arrives while a
 * pass is reading is not lost: the pass reads again before going idle.
 *
 * Never errors: a failed read is reported and retried after `retryMs`.
 *
 * @example
 * gate$.pipe(switchMap((open) => (open ? drainQueue({ store, batchSize: 20, wake$, process, retryMs: 1000, scheduler }) : EMPTY)));
 */
export function drainQueue(options: DrainOptions): Observable<never> {
  const { store, batchSize, process, scheduler } = options;
  return defer(() => {
    // Wakes seen so far; a pass compares it before and after its read.
    let wakes = 0;
    const read$ = defer(() => {
      const seen = wakes;
      return store.peek(batchSize).pipe(map((batch) => ({ batch, seen })));
    }).pipe(
      retry({
        delay: (err: unknown) => {
          options.onError?.(err instanceof SyncError ? err.toInfo() : { kind: 'storage' });
          return timer(options.retryMs, scheduler);
        },
      }),
    );
    const pass$ = read$.pipe(
      expand(({ batch, seen }) => {
        if (batch.length === 0) {
          if (wakes !== seen) return read$;
          options.onIdle?.();
          return EMPTY;
        }
        return concat(from(batch).pipe(concatMap((op) => process(op)), ignoreElements()), read$);
      }, 1),
      ignoreElements(),
    );
    return options.wake$.pipe(
      startWith(undefined),
      tap(() => {
        wakes += 1;
      }),
      exhaustMap(() => pass$),
    );
  });
}
