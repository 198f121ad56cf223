import {
  Observable,
  Subscription,
  concat,
  defer,
  map,
  merge,
  retry,
  take,
  throwError,
  timer,
  EMPTY,
} from 'rxjs';
import { SyncError } from '../src/errors/sync-error';
import type { OpId, PendingOp } from '../src/op/pending-op';
import { batchable, pickReady, type PackLimits } from './pick-ready';
import type { RequestSlots } from './request-slots';
import type { DrainCommonOptions } from './drain-queue';

/** Inputs of `keyedDrain`. */
export interface KeyedDrainOptions extends DrainCommonOptions {
  /** Ops held at once (read, not yet finished): the window; a probe past a full window may hold as many again. */
  readonly window: number;
  /** The op's ordering key: ops of one key are processed in order, never two at once. */
  readonly keyOf: (op: PendingOp) => string;
  /**
   * Processes a unit (one op, or a batch of ops in FIFO order); must never
   * error. May emit a `UnitEvent` per op as it is done with it — finished
   * (its key is free at once, while the rest of the batch still runs) or
   * handed back untouched (a batch entry the server did not apply: it
   * returns to the dispatcher). Completes once every op of the unit left
   * the queue or its settlement was handed to `lane`.
   */
  readonly process: (ops: readonly PendingOp[]) => Observable<UnitEvent>;
  /** Batching: how ready ops are packed (absent: one op per unit). */
  readonly pack?: PackLimits;
  /**
   * The request slots `process` sends through; a slot freed dispatches
   * again. While every slot is busy a full window is not probed past (more
   * ops in progress would only wait for a slot). With `pack`, a batch
   * starts only while a slot is free — one that would wait for a slot is
   * left held, where keys freed meanwhile can still fill it; an op sent
   * alone (a stored wait) starts regardless: it waits without a slot.
   * Absent: every ready unit starts at once, and a full window is probed.
   */
  readonly slots?: Pick<RequestSlots, 'free' | 'freed$'>;
}

/** A unit is done with `op`: it finished, or it is handed back untouched (`back`). */
export interface UnitEvent {
  readonly op: PendingOp;
  readonly back: boolean;
}

/** A failed handed commit: the dispatcher starts over from the head. */
class LaneFailure {
  constructor(readonly error: unknown) {}
}

/**
 * The drain with concurrency: a continuous dispatcher over the FIFO queue.
 * It reads the queue forward (`peek(n, afterId)`), holding at most `window`
 * ops, and starts every op whose key has nothing in progress — ops of one
 * key strictly in enqueue order and never two at once; ops of different
 * keys together (how many requests are on the wire at once is bounded by
 * the request slots of `process`, not here: an op waiting in backoff holds
 * no slot). There is no page boundary: an op that finishes frees its key
 * and the next read starts at once.
 *
 * When the window is full and every held op waits behind its key (one key
 * with a long backlog in backoff), it probes one window further (once per
 * op finished): ops of keys with nothing held or in progress are held and
 * start; the others are dropped and their keys marked, and later ops of a
 * marked key are dropped as read. So it never holds more than two windows.
 * Once a marked key is free again, the queue is read again from the head
 * (after the lane drained; ops in progress or finished meanwhile are
 * recognised by id and not taken twice). A wake once the queue was read to
 * its end reads it again from the head too.
 *
 * ```
 * queue      a1 b1 a2 c1          (a: a1 backs off)
 * process    a1---------#---a1|   (retry)
 *               b1|
 *                  c1|
 *                          a2|    (after a1: same key)
 * ```
 *
 * Never errors: a failed read is reported and retried after `retryMs`; a
 * failed handed commit is reported and the dispatcher starts over from the
 * head (what was in flight is aborted and sent again: the server replays).
 *
 * @example
 * keyedDrain({ store, window: 32, keyOf: (op) => router.orderKey(op), process, wake$, lane, retryMs: 1000, scheduler });
 */
export function keyedDrain(options: KeyedDrainOptions): Observable<never> {
  const { lane, scheduler } = options;
  const waitRetry = (): Observable<unknown> =>
    merge(timer(options.retryMs, scheduler), options.syncNow$ ?? EMPTY).pipe(take(1));
  const report = (err: unknown): void => options.onError?.(err instanceof SyncError ? err.toInfo() : { kind: 'storage' });
  const run$ = new Observable<never>((subscriber) => {
    const d = new Dispatcher(options, waitRetry, report, (err) => subscriber.error(new LaneFailure(err)));
    const subs = new Subscription();
    subs.add(lane.failures$.subscribe((err) => subscriber.error(new LaneFailure(err))));
    subs.add(options.wake$.subscribe(() => d.wake()));
    if (options.slots !== undefined) subs.add(options.slots.freed$.subscribe(() => d.slotFreed()));
    subs.add(() => d.stop());
    d.pump();
    return subs;
  });
  return run$.pipe(
    retry({
      delay: (err: unknown) => {
        if (!(err instanceof LaneFailure)) return throwError(() => err);
        report(err.error);
        return waitRetry();
      },
    }),
  );
}

/** The dispatcher's state: one per subscription (a restart builds a new one). */
class Dispatcher {
  /** Read, not started, ascending ids. */
  #held: PendingOp[] = [];
  readonly #heldIds = new Set<OpId>();
  /** Ops in progress (in a unit), and per key how many. */
  readonly #activeIds = new Set<OpId>();
  readonly #activeKeys = new Map<string, number>();
  /** Keys whose ops beyond the held ones were dropped (read again from the head). */
  readonly #truncated = new Set<string>();
  readonly #units = new Subscription();
  /** Where the next read starts (undefined: the head). */
  #cursor: OpId | undefined;
  /** The last read reached the end of the queue. */
  #exhausted = false;
  #reading: Subscription | undefined;
  #wakePending = false;
  #rescanNeeded = false;
  /** Highest id read before the current rescan; until the rescan passes it, finished ops are remembered. */
  #rescanUpTo: OpId | undefined;
  #highWater: OpId | undefined;
  /** Ops finished while a rescan is under way (their removal may not have landed yet). */
  readonly #finished = new Set<OpId>();
  #skipped = 0;
  #idleWait: Subscription | undefined;
  #stopped = false;
  #pumping = false;
  #again = false;
  /** A probe read since the last op finished: another finds nothing new. */
  #probed = false;
  /** The last dispatch left ready batches held for want of a free request slot. */
  #paced = false;
  #soon: Subscription | undefined;

  constructor(
    private readonly o: KeyedDrainOptions,
    private readonly waitRetry: () => Observable<unknown>,
    private readonly report: (err: unknown) => void,
    private readonly fail: (err: unknown) => void,
  ) {}

  wake(): void {
    this.#wakePending = true;
    this.pump();
  }

  /** A request slot is free: a batch held back for one may start, a full window be probed (once the events of this moment are in). */
  slotFreed(): void {
    this.#pumpSoon();
  }

  stop(): void {
    this.#stopped = true;
    this.#reading?.unsubscribe();
    this.#idleWait?.unsubscribe();
    this.#soon?.unsubscribe();
    this.#units.unsubscribe();
  }

  /** `pump` in a later action on the scheduler (several calls: once). */
  #pumpSoon(): void {
    if (this.#soon !== undefined) return;
    this.#soon = this.o.scheduler.schedule(() => {
      this.#soon = undefined;
      this.pump();
    });
  }

  /** Re-entrant calls (a synchronous store or unit) only ask for another round. */
  pump(): void {
    if (this.#pumping) {
      this.#again = true;
      return;
    }
    this.#pumping = true;
    try {
      do {
        this.#again = false;
        this.#round();
      } while (this.#again && !this.#stopped);
    } finally {
      this.#pumping = false;
    }
  }

  #round(): void {
    if (this.#stopped) return;
    this.#dispatch();
    if (this.#reading !== undefined) return;
    const room = this.o.window - this.#held.length - this.#activeIds.size;
    if (room <= 0) {
      // Ready batches wait for a request slot, not for their keys, or every
      // slot is busy: more ops in progress would only wait for one.
      if (this.#paced || this.o.slots?.free === 0) return;
      // The window is full and every held op waits behind its key: look
      // one window further for other keys (once per change), or from the
      // head for a key that is free again.
      if (this.#rescanNeeded) this.#read(this.o.window, true, true);
      else if (!this.#exhausted && !this.#probed) this.#read(this.o.window, false, true);
      return;
    }
    // A marked key is free: its ops are behind the cursor. Reading on would
    // only drop ops of marked keys; read from the head at once.
    if (this.#rescanNeeded) {
      this.#read(room, true, false);
      return;
    }
    // Read in pages, not one op per op finished: while ops wait in memory
    // (held, or started and queued for a busy slot), wait for a quarter of
    // the window to be free.
    if (room * 4 < this.o.window && (this.#held.length > 0 || this.o.slots?.free === 0)) return;
    if (this.#exhausted && this.#wakePending) {
      this.#read(room, true, false);
    } else if (!this.#exhausted) {
      this.#read(room, this.#cursor === undefined, false);
    } else if (this.#held.length === 0 && this.#activeIds.size === 0) {
      this.#goIdle();
    }
  }

  /** Start every ready unit (batches: as many as request slots are free). */
  #dispatch(): void {
    this.#paced = false;
    if (this.#held.length === 0) return;
    const { pack, slots } = this.o;
    if (pack !== undefined && slots !== undefined && slots.free === 0 && this.#held.every((op) => batchable(op, pack))) {
      // Every slot is busy and every held op would travel in a batch: none
      // can start, so packing them now would be work thrown away.
      this.#paced = true;
      return;
    }
    let units = pickReady(this.#held, (k) => this.#activeKeys.has(k), this.o.keyOf, pack);
    if (pack !== undefined && slots !== undefined) {
      let free = slots.free;
      units = units.filter((unit) => {
        if (unit.length === 1 && !batchable(unit[0] as PendingOp, pack)) return true;
        free -= 1;
        return free >= 0;
      });
      this.#paced = free < 0;
    }
    if (units.length === 0) return;
    const started = new Set<OpId>();
    for (const unit of units) for (const op of unit) started.add(op.id);
    this.#held = this.#held.filter((op) => !started.has(op.id));
    for (const unit of units) this.#start(unit);
  }

  #start(unit: readonly PendingOp[]): void {
    for (const op of unit) {
      this.#heldIds.delete(op.id);
      this.#activeIds.add(op.id);
      const key = this.o.keyOf(op);
      this.#activeKeys.set(key, (this.#activeKeys.get(key) ?? 0) + 1);
    }
    const open = new Map(unit.map((op) => [op.id, op]));
    let sub: Subscription | undefined;
    let done = false;
    sub = this.o.process(unit).subscribe({
      next: (event) => {
        const op = open.get(event.op.id);
        if (op === undefined) return;
        open.delete(op.id);
        this.#leave(op, event.back);
        // A batch reports its ops one after another in one go: dispatch
        // once they are all in, or the freed keys leave as batches of one.
        this.#pumpSoon();
      },
      complete: () => {
        for (const op of open.values()) this.#leave(op, false);
        done = true;
        if (sub !== undefined) this.#units.remove(sub);
        this.pump();
      },
      error: (err: unknown) => this.fail(err),
    });
    if (!done) this.#units.add(sub);
  }

  /** `op` finished (or was handed back untouched: `back`). */
  #leave(op: PendingOp, back: boolean): void {
    this.#activeIds.delete(op.id);
    const key = this.o.keyOf(op);
    const n = (this.#activeKeys.get(key) ?? 1) - 1;
    if (n > 0) this.#activeKeys.set(key, n);
    else this.#activeKeys.delete(key);
    this.#probed = false;
    if (back) {
      this.#hold(op);
    } else if (this.#rescanUpTo !== undefined) {
      this.#finished.add(op.id);
    }
    if (n <= 0 && this.#truncated.has(key) && !this.#held.some((h) => this.o.keyOf(h) === key)) this.#rescanNeeded = true;
  }

  #hold(op: PendingOp): void {
    this.#heldIds.add(op.id);
    let i = this.#held.length;
    while (i > 0 && (this.#held[i - 1] as PendingOp).id > op.id) i -= 1;
    this.#held.splice(i, 0, op);
  }

  /** A read of `room` ops; a `probe` keeps only ops of keys with nothing held or in progress. */
  #read(room: number, fromHead: boolean, probe: boolean): void {
    if (probe) this.#probed = true;
    this.#idleWait?.unsubscribe();
    this.#idleWait = undefined;
    if (fromHead) {
      // Everything dropped is read again; wakes so far are answered by this read.
      this.#truncated.clear();
      this.#rescanNeeded = false;
      this.#wakePending = false;
      this.#cursor = undefined;
      this.#skipped = 0;
      this.#rescanUpTo = this.#highWater;
    }
    const after = this.#cursor;
    const peek$ = defer(() => this.o.store.peek(room, after));
    // From the head only once every handed commit landed: a finished op
    // whose removal is still being written is not read again.
    const read$ = (after === undefined ? concat(this.o.lane.drained$, peek$) : peek$).pipe(
      retry({
        delay: (err: unknown) => {
          this.report(err);
          return this.waitRetry();
        },
      }),
      map((ops) => ({ ops, short: ops.length < room })),
    );
    this.#reading = new Subscription();
    const sub = read$.subscribe(({ ops, short }) => {
      this.#reading = undefined;
      this.#take(ops, probe);
      this.#exhausted = short;
      this.pump();
    });
    if (this.#reading !== undefined && !sub.closed) this.#reading = sub;
  }

  #take(ops: readonly PendingOp[], probe: boolean): void {
    // A probe holds only ops that can start now; the others of a busy key
    // are dropped and the key marked (read again from the head once free).
    const busy = probe ? new Set([...this.#activeKeys.keys(), ...this.#held.map(this.o.keyOf)]) : undefined;
    for (const op of ops) {
      this.#cursor = op.id;
      if (this.#highWater === undefined || op.id > this.#highWater) this.#highWater = op.id;
      if (this.o.skip?.(op) === true) {
        this.#skipped += 1;
        continue;
      }
      if (this.#heldIds.has(op.id) || this.#activeIds.has(op.id) || this.#finished.has(op.id)) continue;
      const key = this.o.keyOf(op);
      if (this.#truncated.has(key)) continue;
      if (busy?.has(key) === true) {
        this.#truncated.add(key);
        continue;
      }
      busy?.add(key);
      this.#hold(op);
    }
    // Past every op read before the rescan: nothing finished can come back.
    if (this.#rescanUpTo !== undefined && (this.#cursor === undefined || this.#cursor >= this.#rescanUpTo || ops.length === 0)) {
      this.#rescanUpTo = undefined;
      this.#finished.clear();
    }
  }

  /** Read to the end, nothing held or in progress: idle once every settlement landed. */
  #goIdle(): void {
    if (this.#idleWait !== undefined) return;
    this.#idleWait = this.o.lane.drained$.subscribe({
      complete: () => {
        this.#idleWait = undefined;
        if (this.#stopped || this.#wakePending || this.#rescanNeeded) return this.pump();
        this.o.onIdle?.(this.#skipped);
      },
    });
  }
}
