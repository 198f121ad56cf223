import { EMPTY, concat, defer, filter, interval, merge, of, tap, type Observable, type SchedulerLike } from 'rxjs';
import type { BatchSender } from '../../streams/batch-port';
import { drainQueue } from '../../streams/drain-queue';
import { keyedDrain, type UnitEvent } from '../../streams/keyed-drain';
import type { ProcessOutcome } from '../../streams/outcome';
import type { PackLimits } from '../../streams/pick-ready';
import { processBatch } from '../../streams/process-batch';
import { processOp, type ProcessContext } from '../../streams/process-op';
import { createRequestSlots } from '../../streams/request-slots';
import type { ErrorInfo } from '../errors/sync-error';
import type { SettleLane } from '../../streams/settle-lane';
import type { PendingOp } from '../op/pending-op';
import { createDrainLoad } from './drain-load';
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

/** Most ops the keyed dispatcher holds per request slot (its window is at least `batchSize`). */
const HELD_PER_SLOT = 4;

/**
 * With batching, full batches' worth of ops held per request slot: one on
 * the wire and, read ahead, enough of the keys not on the wire that a
 * freed slot finds a full batch of free keys (ops of the keys in flight
 * wait in the window too).
 */
const BATCHES_HELD_PER_SLOT = 2;

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
  // Own appends wake the drain through the change feed. Another tab or
  // process appending to the same storage is not on this feed: its wake
  // port (same-origin tabs) says so at once, and in any case an idle
  // holder looks again every `idlePollMs`. Acquiring the lock opens the
  // gate, and the drain always reads the queue when it starts.
  const wake$ = merge(
    store.changes$.pipe(filter((c) => c.type === 'appended' || c.type === 'retried')),
    deps.wake?.wake$ ?? EMPTY,
    parts.syncNow$,
    deps.idlePollMs > 0 ? interval(deps.idlePollMs, scheduler) : EMPTY,
  );
  const common = {
    store,
    wake$,
    skip: (op: PendingOp) => op.accountId !== undefined && op.accountId !== account,
    lane: parts.lane,
    onIdle: (skipped: number) => {
      // Every settlement landed and the queue is empty: nothing is owed.
      canceller.reset();
      dispatch({ type: 'waitingForAccount', count: skipped });
      dispatch({ type: 'drained' });
      parts.refreshCounts();
    },
    onError: (error: ErrorInfo) => dispatch({ type: 'error', error }),
    retryMs: deps.storageRetryMs,
    syncNow$: parts.syncNow$,
    scheduler,
  };
  const concurrency = deps.concurrency ?? 1;
  if (concurrency <= 1 && deps.batch === undefined) {
    return drainQueue({ ...common, batchSize: deps.batchSize, process: (op) => canceller.process(op, run), readAheadScheduler: deps.commitScheduler });
  }
  return keyedEngineDrain(ctx, concurrency, common, parts);
}

/**
 * With `concurrency` above 1 or `batch`: the keyed dispatcher, its
 * requests bounded by `concurrency` slots, units of one op through
 * `processOp` and batches through `processBatch`.
 */
function keyedEngineDrain(
  single: ProcessContext,
  concurrency: number,
  common: Omit<Parameters<typeof keyedDrain>[0], 'window' | 'keyOf' | 'process' | 'pack'>,
  parts: DrainParts,
): Observable<never> {
  const { deps, canceller } = parts;
  const load = createDrainLoad(lastOfMoment(parts.dispatch, deps.scheduler));
  const slots = createRequestSlots(concurrency);
  const ctx: ProcessContext = {
    ...single,
    slots,
    report: (o) => {
      load.observe(o);
      single.report(o);
    },
  };
  const batch = deps.batch;
  const sender: BatchSender = deps.api;
  const run = (op: PendingOp): Observable<never> => processOp(op, ctx);
  const batchCtx = batch === undefined ? undefined : { ...ctx, batchApi: sender, batchPath: batch.path };
  const released = (e: UnitEvent): void => {
    if (e.back) canceller.release(e.op.id);
  };
  const process = (ops: readonly PendingOp[]): Observable<UnitEvent> => {
    if (ops.length === 1 || batchCtx === undefined) {
      const op = ops[0] as PendingOp;
      return concat(canceller.process(op, run), of<UnitEvent>({ op, back: false }));
    }
    return canceller.processAll(ops, (left) => processBatch(left, batchCtx)).pipe(tap(released));
  };
  const pack: PackLimits | undefined =
    batch === undefined
      ? undefined
      : { maxOps: batch.maxOps, maxBytes: batch.maxBytes, sizeOf: sizeCache((op) => entryBytes(op, deps)), packable: (op) => op.nextAttemptAt === null };
  const window = Math.max(deps.batchSize, batch === undefined ? concurrency * HELD_PER_SLOT : batch.maxOps * (BATCHES_HELD_PER_SLOT * concurrency + 1));
  return defer(() => {
    load.reset();
    return keyedDrain({ ...common, window, keyOf: (op) => deps.router.orderKey(op), process, pack, slots });
  });
}

/**
 * The drain's `load` actions of one moment folded into the last one, on
 * `scheduler`: a batch of 100 reports 100 `sending`s and then 100 answers,
 * and each would otherwise be a status update of its own (the counts are a
 * state, not events: only the latest matters).
 */
function lastOfMoment(dispatch: (action: StatusAction) => void, scheduler: SchedulerLike): (action: StatusAction) => void {
  let latest: StatusAction | undefined;
  return (action) => {
    const scheduled = latest !== undefined;
    latest = action;
    if (scheduled) return;
    scheduler.schedule(() => {
      const last = latest as StatusAction;
      latest = undefined;
      dispatch(last);
    });
  };
}

/** `size` once per op (the dispatcher asks again at every pick while an op is held). */
function sizeCache(size: (op: PendingOp) => number): (op: PendingOp) => number {
  const known = new WeakMap<PendingOp, number>();
  return (op) => {
    let n = known.get(op);
    if (n === undefined) known.set(op, (n = size(op)));
    return n;
  };
}

/** Bytes of `op`'s batch entry as serialized (a refused op counts as too large: it is sent alone and fails there). */
function entryBytes(op: PendingOp, deps: EngineDeps): number {
  try {
    const { method, path, body } = deps.router.toRequest(op);
    const text = JSON.stringify({ idempotencyKey: op.idempotencyKey, traceId: op.traceId, method, path, body });
    return utf8Length(text);
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

/** UTF-8 length of `s` without encoding it. */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00) {
      n += 4;
      i += 1;
    } else n += 3;
  }
  return n;
}
