import { Observable, Subject, Subscription, type SchedulerLike, type Subscriber } from 'rxjs';

/**
 * The serial lane where ops leave the queue. Every settlement — the ledger
 * write and removal of a committed op, a dead-letter write, a conflict
 * resolution — is a store write followed by its notifications (`results$`,
 * events, status). The lane runs them one at a time in the order they were
 * given, so `results$` stays in FIFO order, and detached: once given, a
 * settlement runs to its end even if whoever gave it leaves (the gate
 * closed after the server answered must not leave an op removed from the
 * store without its result).
 *
 * A commit is *handed off* (`handOff`) and the drain moves on at once: the
 * handed write starts on `scheduler` (in production the next macrotask, see
 * `taskScheduler`), by which time the next op's request is on the wire — so
 * the previous op's ledger write and removal happen while the server works,
 * off the critical path of strict one-at-a-time delivery. That is safe: a
 * crash before the write lands resends the op with the same idempotency key
 * (the server replays its answer), and the server has seen the ops in order. Other settlements
 * go through `runAndWait`: the caller's Observable completes once the write
 * and its `then` ran.
 *
 * A handed-off write that fails drops whatever was queued behind it (those ops
 * stay in the store and are sent again: the server replays) and is reported
 * on `failures$`; the drain then starts over from the head of the queue
 * once the lane is `drained$`.
 *
 * Handed-off writes that can be written together (`Mergeable`, the same
 * `writeAll`) wait up to `mergeWindowMs` for like ones to join them, then
 * are written as one: `writeAll` with the items of all of them (up to
 * `MAX_MERGED`, in order) — one transaction, all or none — then their
 * `then`s in order. A failed merged write fails each of them, as if the
 * first had failed and dropped the rest. The wait ends at once when anyone
 * subscribes to `drained$` (the drain reading the head or going idle, a
 * stop), when a write that does not merge is queued behind them, or when
 * `MAX_MERGED` are queued. A lone one is written by its own `write$`.
 * Waiting is safe for the same reason handing off is: until the write
 * lands the op stays pending, and a crash resends it under its key.
 *
 * ```
 * handOff(a$)     a---|
 * handOff(b$)         b--|          (starts when a$ completed)
 * runAndWait(c$)         c-|        (the caller's Observable completes with c$)
 * drained$       ----------|
 * ```
 *
 * @example
 * const lane = createSettleLane(taskScheduler());
 * lane.handOff(store.complete(op, now()), () => results.next({ opId: op.id, outcome: 'committed' }));
 * concat(lane.drained$, store.peek(20)); // read the head once every commit has landed
 */
export interface SettleLane {
  /**
   * Fire and forget: queue `write$` (started on the lane's scheduler), then
   * `then()` once it completed; returns at once. A failure goes to `failures$`.
   * With `merge`, written together with the like writes queued next to it
   * (`Mergeable`) when several are waiting.
   */
  handOff<T>(write$: Observable<unknown>, then: () => void, merge?: Mergeable<T>): void;
  /**
   * Queue `write$`, then `then()`; the returned Observable completes (or
   * errors) once both ran. Unsubscribing stops listening, not the write.
   */
  runAndWait(write$: Observable<unknown>, then: () => void): Observable<never>;
  /** Completes once nothing is queued or running (at once when idle). Never errors. */
  readonly drained$: Observable<never>;
  /** Failures of handed writes (hot). */
  readonly failures$: Observable<unknown>;
}

/**
 * A handed-off write the lane may write together with the like ones queued
 * next to it: `writeAll` (the same function for all of them) writes the
 * `item`s of several at once, atomically — every one written or none.
 *
 * @example
 * lane.handOff(store.complete(op, at), report, { item: { op, completedAt: at }, writeAll: store.completeAll });
 */
export interface Mergeable<T> {
  readonly item: T;
  readonly writeAll: (items: readonly T[]) => Observable<unknown>;
}

/** Most handed-off writes merged into one (one transaction stays short). */
export const MAX_MERGED = 32;

/** Options of `createSettleLane`. */
export interface SettleLaneOptions {
  /**
   * How long a `Mergeable` handed-off write waits for like ones to join it,
   * ms (0: never waits; it still merges with those already queued).
   * Default 100 (`SETTLE_LANE_DEFAULTS`).
   */
  readonly mergeWindowMs?: number;
}

/** The defaults of `SettleLaneOptions`. */
export const SETTLE_LANE_DEFAULTS: Readonly<Required<SettleLaneOptions>> = Object.freeze({ mergeWindowMs: 100 });

interface Entry {
  readonly write$: Observable<unknown>;
  readonly then: () => void;
  readonly handedOff: boolean;
  readonly merge?: Mergeable<unknown>;
  /** When it was queued (the lane scheduler's clock). */
  readonly queuedAt: number;
  /** The caller of `runAndWait` while it listens. */
  listener: Subscriber<never> | null;
}

/** What writes `entry` together with the like ones: a handed-off write's `Mergeable`; undefined: it goes alone. */
const writeAllOf = (entry: Entry): Mergeable<unknown>['writeAll'] | undefined => (entry.handedOff ? entry.merge?.writeAll : undefined);

/**
 * A new, idle lane whose handed-off writes start on `scheduler`. The engine
 * makes one and gives it to the drain (which waits for it before reading
 * the head) and to `processOp` (which settles through it).
 */
export function createSettleLane(scheduler: SchedulerLike, options: SettleLaneOptions = {}): SettleLane {
  const mergeWindowMs = options.mergeWindowMs ?? SETTLE_LANE_DEFAULTS.mergeWindowMs;
  if (!(mergeWindowMs >= 0 && Number.isFinite(mergeWindowMs))) throw new RangeError('mergeWindowMs: expected a finite number ≥ 0');
  return new Lane(scheduler, mergeWindowMs);
}

class Lane implements SettleLane {
  readonly #queue: Entry[] = [];
  readonly #waiters = new Set<Subscriber<never>>();
  readonly #failures = new Subject<unknown>();
  readonly #scheduler: SchedulerLike;
  readonly #mergeWindowMs: number;
  #running = false;
  #pumping = false;
  /** The pump scheduled next, and when it is due. */
  #wake: { readonly due: number; sub: Subscription } | null = null;

  readonly drained$ = new Observable<never>((subscriber) => {
    if (this.#idle()) {
      subscriber.complete();
      return undefined;
    }
    this.#waiters.add(subscriber);
    // Someone waits for the lane: writes waiting to merge start now.
    this.#pump();
    return () => {
      this.#waiters.delete(subscriber);
    };
  });

  readonly failures$ = this.#failures.asObservable();

  constructor(scheduler: SchedulerLike, mergeWindowMs: number) {
    this.#scheduler = scheduler;
    this.#mergeWindowMs = mergeWindowMs;
  }

  handOff<T>(write$: Observable<unknown>, then: () => void, merge?: Mergeable<T>): void {
    const queuedAt = this.#scheduler.now();
    const entry: Entry = { write$, then, handedOff: true, listener: null, merge: merge as Mergeable<unknown> | undefined, queuedAt };
    this.#queue.push(entry);
    if (this.#running || this.#pumping) return;
    // A pump is already due and this write joins the group it will start:
    // nothing to reschedule (one timer per group, not one per commit).
    const writeAll = writeAllOf(this.#queue[0] as Entry);
    if (this.#wake !== null && writeAll !== undefined && writeAllOf(entry) === writeAll && this.#queue.length < MAX_MERGED) return;
    this.#schedulePump(0);
  }

  runAndWait(write$: Observable<unknown>, then: () => void): Observable<never> {
    return new Observable<never>((subscriber) => {
      const entry: Entry = { write$, then, handedOff: false, listener: subscriber, queuedAt: this.#scheduler.now() };
      this.#queue.push(entry);
      this.#pump();
      return () => {
        // Leaving stops listening; the write still runs in its turn.
        entry.listener = null;
      };
    });
  }

  #idle(): boolean {
    return !this.#running && this.#queue.length === 0;
  }

  // Re-entrant calls (a write completing synchronously, a listener handing
  // off the next commit) only queue; the outermost loop starts the next entry.
  #pump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (!this.#running && this.#queue.length > 0) {
        const wait = this.#mergeWait();
        if (wait > 0) {
          this.#schedulePump(wait);
          break;
        }
        this.#start(this.#takeNext());
      }
    } finally {
      this.#pumping = false;
    }
    this.#notifyDrained();
  }

  /** A pump on the scheduler after `delay` ms, unless one is due by then already. */
  #schedulePump(delay: number): void {
    const due = this.#scheduler.now() + delay;
    if (this.#wake !== null && this.#wake.due <= due) return;
    this.#wake?.sub.unsubscribe();
    const wake = { due, sub: Subscription.EMPTY };
    this.#wake = wake;
    wake.sub = this.#scheduler.schedule(() => {
      if (this.#wake === wake) this.#wake = null;
      this.#pump();
    }, delay);
  }

  /** How long the head must still wait for like writes to join it, ms (0: start it now). */
  #mergeWait(): number {
    const head = this.#queue[0] as Entry;
    const writeAll = writeAllOf(head);
    if (writeAll === undefined || this.#mergeWindowMs === 0 || this.#waiters.size > 0) return 0;
    // Full, or something that does not merge with it is waiting behind it: no use waiting.
    if (this.#queue.length >= MAX_MERGED || this.#queue.some((e) => writeAllOf(e) !== writeAll)) return 0;
    return Math.max(0, head.queuedAt + this.#mergeWindowMs - this.#scheduler.now());
  }

  /** The head entry, with the mergeable ones queued right behind it that share its `writeAll`. */
  #takeNext(): readonly Entry[] {
    const head = this.#queue.shift() as Entry;
    const writeAll = writeAllOf(head);
    if (writeAll === undefined) return [head];
    let n = 0;
    while (n + 1 < MAX_MERGED && n < this.#queue.length) {
      const next = this.#queue[n] as Entry;
      if (writeAllOf(next) !== writeAll) break;
      n += 1;
    }
    return [head, ...this.#queue.splice(0, n)];
  }

  #start(group: readonly Entry[]): void {
    this.#running = true;
    const head = group[0] as Entry;
    const write$ = group.length === 1 || head.merge === undefined ? head.write$ : head.merge.writeAll(group.map((e) => e.merge?.item));
    write$.subscribe({
      error: (err: unknown) => this.#finish(group, { err }),
      complete: () => {
        // Every write of the group landed: each `then`, in order, even if
        // one throws (its op is out of the store: its outcome is owed).
        let failure: { readonly err: unknown } | undefined;
        for (const entry of group) {
          try {
            entry.then();
          } catch (err) {
            failure ??= { err };
          }
        }
        this.#finish(group, failure);
      },
    });
  }

  #finish(group: readonly Entry[], failure?: { readonly err: unknown }): void {
    this.#running = false;
    const head = group[0] as Entry;
    // Only a lone entry (`runAndWait`) has a listener.
    const listener = head.listener;
    head.listener = null;
    if (failure === undefined) {
      listener?.complete();
    } else if (head.handedOff) {
      // What was queued behind it must not land before it: dropped (the
      // ops stay in the store); a caller still waiting on a dropped
      // `runAndWait` gets the same error.
      const dropped = this.#queue.splice(0);
      this.#failures.next(failure.err);
      for (const d of dropped) d.listener?.error(failure.err);
    } else {
      listener?.error(failure.err);
    }
    this.#pump();
  }

  #notifyDrained(): void {
    if (!this.#idle() || this.#waiters.size === 0) return;
    const done = [...this.#waiters];
    this.#waiters.clear();
    for (const w of done) w.complete();
  }
}
