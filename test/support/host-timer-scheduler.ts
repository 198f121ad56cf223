import type { SchedulerAction, SchedulerLike, Subscription } from 'rxjs';
import { MAX_TIMER_DELAY_MS } from '../../src/policy/backoff';

/**
 * `inner` (a TestScheduler) with the host's timer limit: like `setTimeout`
 * and `setInterval` in Node and browsers, a delay above 2^31 − 1 ms (or not
 * a finite number) becomes 1 ms. Virtual time alone would wait out any
 * delay, hiding the overflow; through this scheduler a wait that was never
 * bounded fires at once, as it does in production.
 *
 * Only the first scheduling of an action goes through here (an action that
 * reschedules itself, as `interval` does, uses `inner` directly).
 *
 * @example
 * const h = new EngineHarness(hostTimerScheduler(m.scheduler), { powerSavingBackoffFactor: 1e7 });
 */
export function hostTimerScheduler(inner: SchedulerLike): SchedulerLike {
  return {
    now: () => inner.now(),
    schedule<T>(work: (this: SchedulerAction<T>, state: T) => void, delay = 0, state?: T): Subscription {
      const host = Number.isFinite(delay) && delay <= MAX_TIMER_DELAY_MS ? delay : 1;
      return inner.schedule(work, host, state as T);
    },
  };
}
