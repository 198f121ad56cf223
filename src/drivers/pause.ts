import type { SchedulerLike } from 'rxjs';

/**
 * A promise that resolves when `scheduler` runs an action `delayMs` from
 * now: how a long walk over storage (ledger prune, a page-by-page read)
 * gives the event loop back between pages, and how a retry waits, on the
 * injected scheduler rather than on a timer of its own.
 *
 * @example
 * for (const page of pages) {
 *   work(page);
 *   await pause(scheduler); // other tasks (the next request) run here
 * }
 */
export function pause(scheduler: SchedulerLike, delayMs = 0): Promise<void> {
  return new Promise<void>((resolve) => {
    scheduler.schedule(() => resolve(), delayMs);
  });
}
