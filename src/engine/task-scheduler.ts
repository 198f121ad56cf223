import { Subscription, asyncScheduler, type SchedulerAction, type SchedulerLike } from 'rxjs';

/** Runs a callback in a later macrotask (after the current task's microtasks). */
export type PostTask = (run: () => void) => void;

/**
 * A `SchedulerLike` whose zero-delay work runs in the next macrotask: after
 * the current task and its microtasks — so after a `fetch` issued in it has
 * gone out — and before timers. Delayed work goes to `asyncScheduler`.
 *
 * The engine starts handed-over commits on it (see `SettleLane`): the ledger
 * write of one op then runs while the next op's request is on the wire
 * instead of before it is sent. RxJS's `asapScheduler` (a microtask) runs
 * too early for that, `asyncScheduler` (`setInterval`, ≥ 1 ms) too late.
 *
 * @example
 * const scheduler = taskScheduler();
 * scheduler.schedule(() => console.log('after this task'));
 */
export function taskScheduler(post: PostTask = platformPostTask()): SchedulerLike {
  const scheduler: SchedulerLike = {
    now: () => asyncScheduler.now(),
    schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay = 0, state?: T): Subscription {
      if (delay > 0) return asyncScheduler.schedule(work, delay, state);
      const action = new Subscription() as SchedulerAction<T>;
      action.schedule = (next?: T, nextDelay = 0) => scheduler.schedule(work, nextDelay, next);
      post(() => {
        if (!action.closed) work.call(action, state);
      });
      return action;
    },
  };
  return scheduler;
}

/**
 * The platform's cheapest "next task": `setImmediate` where it exists
 * (Node), else a `MessageChannel` message (browsers, workers), else a
 * zero-delay `asyncScheduler` action.
 */
function platformPostTask(): PostTask {
  const g = globalThis as { setImmediate?: (run: () => void) => unknown; MessageChannel?: typeof MessageChannel };
  const setImmediateFn = g.setImmediate;
  if (typeof setImmediateFn === 'function') return (run) => void setImmediateFn(run);
  if (typeof g.MessageChannel === 'function') {
    const channel = new g.MessageChannel();
    const queue: Array<() => void> = [];
    channel.port1.onmessage = () => queue.shift()?.();
    // Node's ports would keep the process alive; browsers have no unref.
    (channel.port1 as { unref?: () => void }).unref?.();
    return (run) => {
      queue.push(run);
      channel.port2.postMessage(undefined);
    };
  }
  return (run) => void asyncScheduler.schedule(run);
}
