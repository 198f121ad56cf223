import { EMPTY, filter, interval, merge, type Observable } from 'rxjs';
import { drainQueue } from '../../streams/drain-queue';
import type { ProcessOutcome } from '../../streams/outcome';
import { processOp } from '../../streams/process-op';
import type { SettleLane } from '../../streams/settle-lane';
import type { PendingOp } from '../op/pending-op';
import type { EngineDeps } from './engine-deps';
import type { OpCanceller } from './op-canceller';
import { processContextOf } from './process-context';
import type { StatusAction } from './status-reducer';

/** What one drain needs of its engine. */
export interface DrainParts {
  readonly deps: EngineDeps;
  readonly lane: SettleLane;
  readonly canceller: OpCanceller;
  /** `syncNow()`: ends the client's own waits, wakes an idle drain. */
  readonly syncNow$: Observable<void>;
  readonly powerSaving: () => boolean;
  readonly report: (outcome: ProcessOutcome) => void;
  readonly dispatch: (action: StatusAction) => void;
  readonly refreshCounts: () => void;
}

/**
 * The FIFO drain for the signed-in `account`, processing each op with the
 * engine's ports; every outcome reported. Ops of another account are left
 * untouched (`skip`): each account's ops keep their order, and one
 * account's ops never hold up another's.
 *
 * @example
 * gateOpen$.pipe(switchMap((open) => (open ? engineDrain(account, parts) : EMPTY)));
 */
export function engineDrain(account: string | null, parts: DrainParts): Observable<never> {
  const { deps, canceller, dispatch } = parts;
  const { store, scheduler } = deps;
  const ctx = processContextOf(deps, parts.lane, parts.powerSaving, parts.report, {
    syncNow$: parts.syncNow$,
    cancel$: canceller.requests$,
  });
  const run = (op: PendingOp): Observable<never> => processOp(op, ctx);
  return drainQueue({
    store,
    batchSize: deps.batchSize,
    // Own appends wake the drain through the change feed. Another tab or
    // process appending to the same storage is not on this feed: its wake
    // port (same-origin tabs) says so at once, and in any case an idle
    // holder looks again every `idlePollMs`. Acquiring the lock opens the
    // gate, and the drain always reads the queue when it starts.
    wake$: merge(
      store.changes$.pipe(filter((c) => c.type === 'appended' || c.type === 'retried')),
      deps.wake?.wake$ ?? EMPTY,
      parts.syncNow$,
      deps.idlePollMs > 0 ? interval(deps.idlePollMs, scheduler) : EMPTY,
    ),
    process: (op) => canceller.process(op, run),
    skip: (op) => op.accountId !== undefined && op.accountId !== account,
    lane: parts.lane,
    readAheadScheduler: deps.commitScheduler,
    onIdle: (skipped) => {
      // Every settlement landed and the queue is empty: nothing is owed.
      canceller.reset();
      dispatch({ type: 'waitingForAccount', count: skipped });
      dispatch({ type: 'drained' });
      parts.refreshCounts();
    },
    onError: (error) => dispatch({ type: 'error', error }),
    retryMs: deps.storageRetryMs,
    scheduler,
  });
}
