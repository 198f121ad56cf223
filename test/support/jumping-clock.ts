import type { SchedulerAction, SchedulerLike, Subscription } from 'rxjs';

/**
 * `inner` (a TestScheduler) whose `now()` is a wall clock that can be
 * stepped (NTP correction, a user changing the time): timers still run on
 * `inner`'s virtual time, only the clock reading moves.
 *
 * @example
 * const clock = jumpingClock(ts);
 * const limiter = createRateLimiter({}, clock.scheduler);
 * ts.schedule(() => clock.jump(-3_600_000), 500); // back 1 h at t = 500
 */
export function jumpingClock(inner: SchedulerLike): { readonly scheduler: SchedulerLike; jump(byMs: number): void } {
  let offsetMs = 0;
  return {
    scheduler: {
      now: () => inner.now() + offsetMs,
      schedule<T>(work: (this: SchedulerAction<T>, state: T) => void, delay = 0, state?: T): Subscription {
        return inner.schedule(work, delay, state as T);
      },
    },
    jump: (byMs) => {
      offsetMs += byMs;
    },
  };
}
