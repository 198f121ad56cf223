import { asyncScheduler, type SchedulerLike } from 'rxjs';

/**
 * A clock that never steps with the wall clock, ms, for measuring how long
 * something lasted inside one process: a virtual-time scheduler's own
 * `now()` (tests), and for RxJS's wall-clock schedulers (`asyncScheduler`,
 * `asapScheduler`, `queueScheduler`, whose `now` is `Date.now`)
 * `performance.now()` where the platform has it. The documented default of
 * an injectable: engine code only calls the function returned.
 *
 * @example
 * const elapsed = monotonicClock(asyncScheduler); // performance.now in browsers and Node
 * const since = elapsed(); // … later: elapsed() - since
 */
export function monotonicClock(scheduler: SchedulerLike): () => number {
  if (scheduler.now !== asyncScheduler.now) return () => scheduler.now();
  const perf = (globalThis as { performance?: { now?: () => number } }).performance;
  const perfNow = perf?.now;
  return typeof perfNow === 'function' ? () => perfNow.call(perf) : () => scheduler.now();
}
