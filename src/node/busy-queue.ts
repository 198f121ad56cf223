import type { SchedulerLike } from 'rxjs';
import { pause } from '../drivers/pause';
import { isSqliteBusy } from '../drivers/storage-errors';
import { StorageError } from '../errors/sync-error';

/** How a call waits while another process holds SQLite's lock. */
export interface BusyRetry {
  /** Where the waits between tries run (and the deadline's clock). */
  readonly scheduler: SchedulerLike;
  /** Give up this long after the call, ms: it rejects with `StorageError('busy')`. */
  readonly timeoutMs: number;
}

/** First wait after SQLITE_BUSY, ms; doubles up to `MAX_WAIT_MS`. */
const FIRST_WAIT_MS = 5;
const MAX_WAIT_MS = 100;


/**
 * Retry `fn` (a synchronous better-sqlite3 call that either completes or
 * changes nothing) while it throws SQLITE_BUSY, waiting on `retry.scheduler`
 * — never on the thread — 5 ms doubling to 100 ms between tries, until
 * `deadline` (on the scheduler's clock); then reject with
 * `StorageError('busy')`. Any other error rejects at once.
 *
 * @example
 * await retryWhileBusy(() => stmt.run(key, value), { scheduler: asyncScheduler, timeoutMs: 5_000 });
 */
export async function retryWhileBusy<T>(fn: () => T, retry: BusyRetry, deadline = retry.scheduler.now() + retry.timeoutMs): Promise<T> {
  for (let waitMs = FIRST_WAIT_MS; ; waitMs = Math.min(waitMs * 2, MAX_WAIT_MS)) {
    try {
      return fn();
    } catch (err) {
      if (!isSqliteBusy(err)) throw err;
      const left = deadline - retry.scheduler.now();
      if (left <= 0) throw new StorageError('busy', { cause: err });
      await pause(retry.scheduler, Math.min(waitMs, left));
    }
  }
}

/**
 * The calls of one SQLite connection, in call order, none of them blocking
 * the thread for longer than SQLite's (short) `busy_timeout`. While the
 * database is free a call runs at once, synchronously, as before; once one
 * meets SQLITE_BUSY (another process holds the write lock — a writer frozen
 * by SIGSTOP keeps it for as long as it is frozen) it is retried
 * asynchronously (`retryWhileBusy`) and every later call of the connection
 * waits behind it, so writes still land in the order they were made. Each
 * call's deadline runs from when it was made.
 *
 * @example
 * const calls = new BusyQueue({ scheduler: asyncScheduler, timeoutMs: 5_000 });
 * await calls.run(() => stmt.run(key, value));
 */
export class BusyQueue {
  readonly #retry: BusyRetry;
  /** Settles when the last queued call has; null while nothing waits. */
  #tail: Promise<unknown> | null = null;

  constructor(retry: BusyRetry) {
    this.#retry = retry;
  }

  /** Run `fn` now if nothing waits and the database is free; else queue it. */
  run<T>(fn: () => T): Promise<T> {
    const deadline = this.#retry.scheduler.now() + this.#retry.timeoutMs;
    if (this.#tail === null) {
      try {
        return Promise.resolve(fn());
      } catch (err) {
        if (!isSqliteBusy(err)) return Promise.reject(err);
      }
      // Busy: fall through and retry it, after a first wait, behind nothing.
      return this.#enqueue(pause(this.#retry.scheduler, FIRST_WAIT_MS).then(() => retryWhileBusy(fn, this.#retry, deadline)));
    }
    return this.#enqueue(this.#tail.then(() => retryWhileBusy(fn, this.#retry, deadline)));
  }

  #enqueue<T>(call: Promise<T>): Promise<T> {
    const settled = call.then(
      () => undefined,
      () => undefined,
    );
    this.#tail = settled;
    void settled.then(() => {
      if (this.#tail === settled) this.#tail = null;
    });
    return call;
  }
}
