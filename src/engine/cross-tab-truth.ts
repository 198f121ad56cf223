import { EMPTY, Subscription, catchError, concatMap, defer, exhaustMap, from, ignoreElements, interval, map, of, tap, type Observable, type SchedulerLike } from 'rxjs';
import type { StorePort } from '../../streams/ports';
import type { OpId, PendingOp } from '../op/pending-op';
import type { StoreChange } from '../store/op-store';
import { departureEvidence, pendingById } from './cross-tab-audit';
import type { CrossTabMessage, CrossTabPort } from './cross-tab-port';
import { createCrossTabSending, type AttemptEdge } from './cross-tab-sending';
import { recoveredResult, type DepartureEvidence } from './recovered-result';
import type { OpResult } from './sync-engine';

/** What `createCrossTabTruth` works with. */
export interface CrossTabTruthDeps {
  readonly port: CrossTabPort;
  readonly store: Pick<StorePort, 'peek' | 'counts' | 'isCompleted' | 'failed' | 'changes$'>;
  readonly scheduler: SchedulerLike;
  /** Read the store this often, ms (lost messages; the only source without a live channel); 0 = never on its own. */
  readonly auditEveryMs: number;
  /** Ops per read when the audit reads the whole queue. */
  readonly pageSize: number;
  /** Publish another engine's change (or one recovered from the store) on this engine's `changes$`. */
  readonly change: (change: StoreChange) => void;
  /** Publish another engine's `results$` entry (or one recovered from the store) on this engine's `results$`. */
  readonly result: (result: OpResult) => void;
  /** An audit read the store: counts may have moved without a change seen here. */
  readonly audited: () => void;
  /** The op the lock holder (another engine) is sending now; undefined: none (`status$.inFlight` where this one does not hold the lock). */
  readonly peerSending: (opId: OpId | undefined) => void;
}

/** The engine's side of "every tab tells the truth". */
export interface CrossTabTruth {
  /** A `results$` entry this engine emitted itself: posted to the others, never emitted again here. */
  ownResult(result: OpResult): void;
  /** This engine's attempt of `opId` reached `edge`: the others show it in flight meanwhile (`CrossTabSending.own`). */
  ownAttempt(opId: OpId, edge: AttemptEdge): void;
  /** This engine's drain stopped: nothing it said it was sending is. */
  ownDrainStopped(): void;
  /** Read the store and settle what it shows; the engine runs it every `auditEveryMs`. */
  audit(): Observable<never>;
  close(): void;
}

/** A pending op this engine knows of, and what it saw of its departure. */
interface Known {
  op: PendingOp;
  /** Audits in a row that found it gone from the queue. */
  missing: number;
  /** The store change that took it out of the queue, when seen (its result has not come yet). */
  departure?: StoreChange;
}

/** Final results remembered (op ids) so a late duplicate is dropped; oldest forgotten first. */
const RECENT_RESULTS = 4096;

const isFinal = (r: OpResult): boolean => !(r.outcome === 'conflict' && r.resolution === 'retry');

/** The op a change is about (a quarantined record without an op is about none). */
function opOf(change: StoreChange): PendingOp | undefined {
  return change.type === 'failed' || change.type === 'discarded' ? change.record.op : change.op;
}

const departs = (change: StoreChange): boolean => change.type === 'completed' || change.type === 'failed' || change.type === 'discarded';

/**
 * Every engine on a store learns of every op's appends and outcomes,
 * whichever engine sent it:
 * - it posts the changes of its own store feed and the results it emits on
 *   the cross-tab port, and publishes the other engines' (each final
 *   result once: a late duplicate is dropped);
 * - it keeps the ops it knows as pending (its own appends, the others',
 *   and what its reads of the store showed) and reads the store every
 *   `auditEveryMs` — the queue's head and counts, the whole queue only
 *   when they do not add up — so a lost message costs time, not truth: an
 *   op found gone for two audits in a row (one without a live channel and
 *   no departure seen) with no result yet gets the result the store
 *   supports (`recoveredResult`: ledger → committed, `failed_ops` →
 *   failed, neither → unknown), and an op found in the queue that no
 *   message announced is published as `appended` (not on the first full
 *   read, which only learns what was queued before this engine).
 *
 * @example
 * const truth = createCrossTabTruth({ port, store, scheduler, auditEveryMs: 5000, pageSize: 20, change, result, audited });
 * truth.ownResult(result); // after emitting it on this engine's results$
 */
export function createCrossTabTruth(deps: CrossTabTruthDeps): CrossTabTruth {
  const { port, store } = deps;
  const known = new Map<OpId, Known>();
  const resulted = new Set<OpId>();
  /** Changes and messages seen: an audit whose reads raced one cannot compare counts. */
  let seen = 0;
  /** The first full read only learns what was queued before: nothing to announce. */
  let seeded = false;

  /** Ops whose departure change the audit published itself: the late original is dropped. */
  const recoveredChanges = new Set<OpId>();
  const bounded = (set: Set<OpId>, opId: OpId): void => {
    set.add(opId);
    if (set.size > RECENT_RESULTS) set.delete(set.values().next().value as OpId);
  };
  const remember = (opId: OpId): void => {
    known.delete(opId);
    bounded(resulted, opId);
  };

  const track = (change: StoreChange): void => {
    const op = opOf(change);
    if (op === undefined) return;
    const entry = known.get(op.id);
    if (resulted.has(op.id)) return; // its outcome is out: nothing left to recover
    if (!departs(change)) {
      if (entry === undefined) known.set(op.id, { op, missing: 0 });
      else if (entry.departure === undefined) entry.op = op;
      return;
    }
    // A dead-letter record discarded long after its op's result: not ours to track.
    if (change.type === 'discarded' && entry === undefined) return;
    if (entry === undefined) known.set(op.id, { op, missing: 0, departure: change });
    else entry.departure ??= change;
  };

  const onMessage = (message: CrossTabMessage): void => {
    if (message.kind === 'sending') {
      sending.heard(message);
    } else if (message.kind === 'change') {
      const op = opOf(message.change);
      const { type } = message.change;
      if (op !== undefined && departs(message.change)) sending.settled(op.id);
      if (op !== undefined && (type === 'completed' || type === 'failed') && recoveredChanges.has(op.id)) return;
      seen += 1;
      track(message.change);
      deps.change(message.change);
    } else if (message.kind === 'result') {
      const r = message.result;
      sending.settled(r.opId);
      if (isFinal(r)) {
        if (resulted.has(r.opId)) return;
        remember(r.opId);
      }
      seen += 1;
      deps.result(r);
    }
  };

  const sending = createCrossTabSending((m) => port.post(m), deps.peerSending);

  const subs = new Subscription();
  subs.add(
    store.changes$.subscribe((change) => {
      seen += 1;
      track(change);
      port.post({ kind: 'change', change });
    }),
  );
  subs.add(port.messages$.subscribe(onMessage));

  /** Publish what the evidence supports (a recovered change first, as the store would have emitted it). */
  const settle = (entry: Known, evidence: DepartureEvidence): void => {
    if (known.get(entry.op.id) !== entry) return; // a message settled it meanwhile
    if (entry.departure === undefined && evidence.kind !== 'none') {
      bounded(recoveredChanges, entry.op.id);
      deps.change(evidence.kind === 'committed' ? { type: 'completed', op: entry.op } : { type: 'failed', record: evidence.record });
    }
    remember(entry.op.id);
    sending.settled(entry.op.id);
    const result = recoveredResult(entry.op, evidence);
    if (result !== undefined) deps.result(result);
  };

  const evidenceOf = (entry: Known, lookup: (op: PendingOp) => Observable<DepartureEvidence>): Observable<DepartureEvidence> => {
    const d = entry.departure;
    if (d?.type === 'completed') return of({ kind: 'committed' });
    if (d?.type === 'failed' || d?.type === 'discarded') return of({ kind: 'failed', record: d.record });
    return lookup(entry.op);
  };

  const audit = (): Observable<never> =>
    defer(() => {
      const before = seen;
      // Only ops known before the reads are judged by them (one announced meanwhile may be missing from them).
      const judged = new Set(known.keys());
      return store.counts().pipe(
        concatMap((counts) => store.peek(1).pipe(map((head) => ({ counts, head })))),
        concatMap(({ counts, head }) => {
          const headId = head[0]?.id;
          const quiet = seen === before;
          // Known ops still queued by what was seen: the counts say whether some op came or went unannounced.
          let queued = 0;
          for (const e of known.values()) if (headId !== undefined && e.op.id >= headId && e.departure === undefined) queued += 1;
          const adds = headId !== undefined && quiet && queued !== counts.pending;
          // This engine knows the whole queue: every op found later is news.
          if (quiet && !adds) seeded = true;
          const present$: Observable<ReadonlyMap<OpId, PendingOp> | undefined> = adds ? pendingById(store, deps.pageSize) : of(undefined);
          return present$.pipe(
            concatMap((present) => {
              const gone = markGone(judged, headId, present);
              const lookup = departureEvidence(store);
              return from(gone).pipe(concatMap((entry) => evidenceOf(entry, lookup).pipe(tap((e) => settle(entry, e)))));
            }),
          );
        }),
        ignoreElements(),
        tap({ complete: () => deps.audited() }),
      );
    });

  /** Count each known op's misses; learn the ops a full read found; the entries now due for recovery. */
  const markGone = (judged: ReadonlySet<OpId>, headId: OpId | undefined, present: ReadonlyMap<OpId, PendingOp> | undefined): Known[] => {
    const due: Known[] = [];
    for (const entry of known.values()) {
      const id = entry.op.id;
      if (!judged.has(id)) continue;
      const isGone = headId === undefined || id < headId || (present !== undefined && !present.has(id)) || entry.departure !== undefined;
      entry.missing = isGone ? entry.missing + 1 : 0;
      const grace = port.live || entry.departure !== undefined ? 2 : 1;
      if (entry.missing >= grace) due.push(entry);
    }
    if (present !== undefined) {
      for (const op of present.values()) {
        if (known.has(op.id) || resulted.has(op.id)) continue;
        known.set(op.id, { op, missing: 0 });
        if (seeded) deps.change({ type: 'appended', op });
      }
      seeded = true;
    }
    // In queue order, as the holder settled them: views fold commits in FIFO order.
    return due.sort((x, y) => (x.op.id < y.op.id ? -1 : 1));
  };

  if (deps.auditEveryMs > 0) {
    subs.add(
      interval(deps.auditEveryMs, deps.scheduler)
        .pipe(
          tap(() => sending.tick()),
          exhaustMap(() => audit().pipe(catchError(() => EMPTY))), // a failed read: the next audit reads again
        )
        .subscribe(),
    );
  }

  return {
    ownResult(result) {
      if (isFinal(result)) remember(result.opId);
      port.post({ kind: 'result', result });
    },
    ownAttempt: (opId, edge) => sending.own(opId, edge),
    ownDrainStopped: () => sending.ownStopped(),
    audit,
    close() {
      subs.unsubscribe();
      port.close();
    },
  };
}

