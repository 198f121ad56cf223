import { EMPTY, Subject, concat, concatMap, defaultIfEmpty, defer, filter, lastValueFrom, take, type Observable } from 'rxjs';
import type { ProcessOutcome } from '../../streams/outcome';
import type { StorePort } from '../../streams/ports';
import type { SettleLane } from '../../streams/settle-lane';
import { cancelWrite } from '../../streams/settle-op';
import type { CancelRequest } from '../../streams/wait-before-retry';
import { ValidationError } from '../errors/sync-error';
import type { OpId, PendingOp } from '../op/pending-op';
import { findPendingOp } from './find-pending-op';

/** What `createOpCanceller` works with: the engine's store and lane, and where outcomes go. */
export interface CancellerDeps {
  readonly store: StorePort;
  readonly lane: Pick<SettleLane, 'runAndWait' | 'drained$'>;
  readonly now: () => number;
  /** The engine's outcome callback (the fan-out): a cancelled queued op is reported here. */
  readonly report: (outcome: ProcessOutcome) => void;
  /** Whether this engine holds the processor lock now. */
  readonly lockHeld: () => boolean;
}

/** `engine.cancel` and what the drain needs to honour it. */
export interface OpCanceller {
  /** Cancel requests for the waits of `processOp` (`ProcessContext.cancel$`). */
  readonly requests$: Observable<CancelRequest>;
  /**
   * The drain's `process`: remembers the op being processed (it cannot be
   * cancelled) and skips an op cancelled while still in a batch read before.
   */
  process(op: PendingOp, run: (op: PendingOp) => Observable<never>): Observable<never>;
  /**
   * The same for a batch: its ops are in flight together; ops cancelled
   * while still held are left out (once their removal landed).
   */
  processAll<T>(ops: readonly PendingOp[], run: (ops: readonly PendingOp[]) => Observable<T>): Observable<T>;
  /** `opId` is no longer being processed (handed back to the dispatcher untouched). */
  release(opId: OpId): void;
  /** Every outcome, after the fan-out: the op being processed settles. */
  observe(outcome: ProcessOutcome): void;
  /** The drain stopped or found the queue empty: nothing is processed, no read batch holds a cancelled op. */
  reset(): void;
  cancel(opId: OpId): Promise<void>;
}

const SETTLES = new Set<ProcessOutcome['type']>(['committed', 'failed', 'cancelled', 'conflict']);

/**
 * Cancellation of pending ops, without racing the drain:
 * - the op being processed, while it waits (backoff, a stored wait, a
 *   restart): its wait claims the request and settles it as cancelled, so
 *   it is never sent again and the queue moves on;
 * - the op being processed otherwise (its request is out, or its answer is
 *   being written): refused (`opInFlight`);
 * - any other pending op: removed through the settle lane (after every
 *   settlement already queued), and skipped if the drain reaches it from a
 *   batch it read before — it waits for the lane first, so an op whose
 *   removal failed is processed in its place, in FIFO order.
 *
 * @example
 * const canceller = createOpCanceller({ store, lane, now, report, lockHeld: () => state.lockHeld });
 * drainQueue({ ..., process: (op) => canceller.process(op, (o) => processOp(o, { ...ctx, cancel$: canceller.requests$ })) });
 */
export function createOpCanceller(deps: CancellerDeps): OpCanceller {
  const requests = new Subject<CancelRequest>();
  const cancelled = new Subject<OpId>();
  const skipped = new Set<OpId>();
  // The ops being processed: one in strict FIFO, several with concurrency.
  const current = new Set<OpId>();

  const start = (op: PendingOp, run: (op: PendingOp) => Observable<never>): Observable<never> => {
    current.add(op.id);
    return run(op);
  };
  const startAll = <T>(ops: readonly PendingOp[], run: (ops: readonly PendingOp[]) => Observable<T>): Observable<T> => {
    const left = ops.filter((op) => !skipped.has(op.id));
    for (const op of left) current.add(op.id);
    return left.length === 0 ? EMPTY : run(left);
  };

  const cancelQueued = (opId: OpId): Observable<never> => {
    let found: PendingOp | undefined;
    const write$ = findPendingOp(deps.store, opId).pipe(
      concatMap((op) => {
        if (op === undefined) throw new ValidationError('unknownOp', 'cancel: no pending op with this id (settled already?)');
        found = op;
        return cancelWrite(op, deps);
      }),
    );
    return deps.lane.runAndWait(write$, () => deps.report({ type: 'cancelled', at: deps.now(), op: found as PendingOp }));
  };

  return {
    requests$: requests.asObservable(),
    process(op, run) {
      if (skipped.size === 0 || !skipped.has(op.id)) return start(op, run);
      // Its removal is in the lane: once that landed, skip it — or, had it
      // failed, process it in its turn.
      return concat(
        deps.lane.drained$,
        defer(() => (skipped.has(op.id) ? EMPTY : start(op, run))),
      );
    },
    processAll(ops, run) {
      if (skipped.size === 0 || !ops.some((op) => skipped.has(op.id))) return startAll(ops, run);
      return concat(
        deps.lane.drained$,
        defer(() => startAll(ops, run)),
      );
    },
    release(opId) {
      current.delete(opId);
    },
    observe(outcome) {
      if (!SETTLES.has(outcome.type)) return;
      const { op } = outcome as Extract<ProcessOutcome, { op: PendingOp }>;
      if (outcome.type === 'conflict' && outcome.resolution === 'retry') return;
      current.delete(op.id);
      if (outcome.type === 'cancelled') cancelled.next(op.id);
    },
    reset() {
      current.clear();
      skipped.clear();
    },
    cancel(opId) {
      if (!deps.lockHeld()) {
        return Promise.reject(new ValidationError('lockNotHeld', 'cancel: this engine does not hold the processor lock'));
      }
      // Listen first: a claimed cancellation may settle synchronously.
      let settle = (): void => undefined;
      const settled = new Promise<void>((resolve) => (settle = resolve));
      const listening = cancelled.pipe(filter((id) => id === opId), take(1)).subscribe(() => settle());
      let claimed = false;
      requests.next({ opId, claim: () => (claimed = true) });
      if (claimed) return settled;
      listening.unsubscribe();
      if (current.has(opId)) {
        return Promise.reject(new ValidationError('opInFlight', 'cancel: the op is in flight (its request is out or its answer is being written)'));
      }
      skipped.add(opId);
      return lastValueFrom(cancelQueued(opId).pipe(defaultIfEmpty(undefined))).catch((err: unknown) => {
        skipped.delete(opId);
        throw err;
      });
    },
  };
}
