import { Observable, Subject, type SchedulerLike, type Subscriber } from 'rxjs';

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
   */
  handOff(write$: Observable<unknown>, then: () => void): void;
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

interface Entry {
  readonly write$: Observable<unknown>;
  readonly then: () => void;
  readonly handedOff: boolean;
  /** The caller of `runAndWait` while it listens. */
  listener: Subscriber<never> | null;
}

/**
 * A new, idle lane whose handed-off writes start on `scheduler`. The engine
 * makes one and gives it to the drain (which waits for it before reading
 * the head) and to `processOp` (which settles through it).
 */
export function createSettleLane(scheduler: SchedulerLike): SettleLane {
  return new Lane(scheduler);
}

class Lane implements SettleLane {
  readonly #queue: Entry[] = [];
  readonly #waiters = new Set<Subscriber<never>>();
  readonly #failures = new Subject<unknown>();
  readonly #scheduler: SchedulerLike;
  #running = false;
  #pumping = false;
  #scheduled = false;

  readonly drained$ = new Observable<never>((subscriber) => {
    if (this.#idle()) {
      subscriber.complete();
      return undefined;
    }
    this.#waiters.add(subscriber);
    return () => {
      this.#waiters.delete(subscriber);
    };
  });

  readonly failures$ = this.#failures.asObservable();

  constructor(scheduler: SchedulerLike) {
    this.#scheduler = scheduler;
  }

  handOff(write$: Observable<unknown>, then: () => void): void {
    this.#queue.push({ write$, then, handedOff: true, listener: null });
    if (this.#running || this.#pumping || this.#scheduled) return;
    this.#scheduled = true;
    this.#scheduler.schedule(() => {
      this.#scheduled = false;
      this.#pump();
    });
  }

  runAndWait(write$: Observable<unknown>, then: () => void): Observable<never> {
    return new Observable<never>((subscriber) => {
      const entry: Entry = { write$, then, handedOff: false, listener: subscriber };
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
      while (!this.#running && this.#queue.length > 0) this.#start(this.#queue.shift() as Entry);
    } finally {
      this.#pumping = false;
    }
    this.#notifyDrained();
  }

  #start(entry: Entry): void {
    this.#running = true;
    let failed = false;
    entry.write$.subscribe({
      error: (err: unknown) => this.#finish(entry, true, err),
      complete: () => {
        try {
          entry.then();
        } catch (err) {
          failed = true;
          this.#finish(entry, true, err);
        }
        if (!failed) this.#finish(entry, false);
      },
    });
  }

  #finish(entry: Entry, failed: boolean, err?: unknown): void {
    this.#running = false;
    const listener = entry.listener;
    entry.listener = null;
    if (!failed) {
      listener?.complete();
    } else if (entry.handedOff) {
      // What was queued behind it must not land before it: dropped (the
      // ops stay in the store); a caller still waiting on a dropped
      // `runAndWait` gets the same error.
      const dropped = this.#queue.splice(0);
      this.#failures.next(err);
      for (const d of dropped) d.listener?.error(err);
    } else {
      listener?.error(err);
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
