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
 * A commit is *handed* over (`hand`) and the drain moves on at once: the
 * handed write starts on `scheduler` (in production the next macrotask, see
 * `taskScheduler`), by which time the next op's request is on the wire — so
 * the previous op's ledger write and removal happen while the server works,
 * off the critical path of strict one-at-a-time delivery. That is safe: a
 * crash before the write lands resends the op with the same idempotency key
 * (the server replays its answer), and the server has seen the ops in order. Other settlements
 * are `run`: the caller waits for them.
 *
 * A handed write that fails drops whatever was queued behind it (those ops
 * stay in the store and are sent again: the server replays) and is reported
 * on `failures$`; the drain then starts over from the head of the queue
 * once the lane is `drained$`.
 *
 * ```
 * hand(a$)    a---|
 * hand(b$)        b--|          (starts when a$ completed)
 * run(c$)            c-|        (the caller's Observable completes with c$)
 * drained$  ----------|
 * ```
 *
 * @example
 * const lane = createSettleLane(taskScheduler());
 * lane.hand(store.complete(op, now()), () => results.next({ opId: op.id, outcome: 'committed' }));
 * concat(lane.drained$, store.peek(20)); // read the head once every commit has landed
 */
export interface SettleLane {
  /** Queue `write$` (started on the lane's scheduler), then `then()` once it completed; returns at once. */
  hand(write$: Observable<unknown>, then: () => void): void;
  /** Queue `write$`, then `then()`; the returned Observable completes (or errors) with it. */
  run(write$: Observable<unknown>, then: () => void): Observable<never>;
  /** Completes once nothing is queued or running (at once when idle). Never errors. */
  readonly drained$: Observable<never>;
  /** Failures of handed writes (hot). */
  readonly failures$: Observable<unknown>;
}

interface Entry {
  readonly write$: Observable<unknown>;
  readonly then: () => void;
  readonly handed: boolean;
  /** The caller of `run` while it listens. */
  listener: Subscriber<never> | null;
}

/**
 * A new, idle lane whose handed writes start on `scheduler`. The engine
 * makes one and gives it to the drain (which waits for it before reading
 * the head) and to `processOp` (which settles through it).
 */
export function createSettleLane(scheduler: SchedulerLike): SettleLane {
  const queue: Entry[] = [];
  const waiters = new Set<Subscriber<never>>();
  const failures = new Subject<unknown>();
  let running = false;
  let pumping = false;
  let scheduled = false;

  const drained = (): void => {
    if (running || queue.length > 0 || waiters.size === 0) return;
    const done = [...waiters];
    waiters.clear();
    for (const w of done) w.complete();
  };

  const finish = (entry: Entry, failed: boolean, err?: unknown): void => {
    running = false;
    const listener = entry.listener;
    entry.listener = null;
    if (!failed) {
      listener?.complete();
    } else if (entry.handed) {
      // What was queued behind it must not land before it: dropped (the
      // ops stay in the store); a caller still waiting on a dropped `run`
      // gets the same error.
      const dropped = queue.splice(0);
      failures.next(err);
      for (const d of dropped) d.listener?.error(err);
    } else {
      listener?.error(err);
    }
    pump();
  };

  const start = (entry: Entry): void => {
    running = true;
    let failed = false;
    entry.write$.subscribe({
      error: (err: unknown) => finish(entry, true, err),
      complete: () => {
        try {
          entry.then();
        } catch (err) {
          failed = true;
          finish(entry, true, err);
        }
        if (!failed) finish(entry, false);
      },
    });
  };

  // Re-entrant calls (a write completing synchronously, a listener handing
  // the next commit) only queue; the outermost loop starts the next entry.
  const pump = (): void => {
    if (pumping) return;
    pumping = true;
    try {
      while (!running && queue.length > 0) start(queue.shift() as Entry);
    } finally {
      pumping = false;
    }
    drained();
  };

  return {
    hand(write$, then) {
      queue.push({ write$, then, handed: true, listener: null });
      if (running || pumping || scheduled) return;
      scheduled = true;
      scheduler.schedule(() => {
        scheduled = false;
        pump();
      });
    },
    run(write$, then) {
      return new Observable<never>((subscriber) => {
        const entry: Entry = { write$, then, handed: false, listener: subscriber };
        queue.push(entry);
        pump();
        return () => {
          // Leaving stops listening; the write still runs in its turn.
          entry.listener = null;
        };
      });
    },
    drained$: new Observable<never>((subscriber) => {
      if (!running && queue.length === 0) {
        subscriber.complete();
        return undefined;
      }
      waiters.add(subscriber);
      return () => {
        waiters.delete(subscriber);
      };
    }),
    failures$: failures.asObservable(),
  };
}
