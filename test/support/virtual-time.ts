import type { VirtualTimeScheduler } from 'rxjs';

const nextMacrotask = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Run `scheduler` up to virtual time `until` for code that mixes timers and
 * Promises (the token manager, `createSyncEngine`'s ports): one time slot
 * at a time, letting every Promise callback run before the next slot, so a
 * Promise that settles "now" is seen now and not after a later timer.
 * Promises never advance time: one that never settles stays pending.
 *
 * @example
 * const scheduler = new VirtualTimeScheduler();
 * engine.start();
 * await runUntil(scheduler, 31_000);
 */
export async function runUntil(scheduler: VirtualTimeScheduler, until: number): Promise<void> {
  await nextMacrotask();
  for (let next = scheduler.actions[0]; next !== undefined && (next.delay ?? 0) <= until; next = scheduler.actions[0]) {
    scheduler.maxFrames = next.delay ?? 0;
    scheduler.flush();
    await nextMacrotask();
  }
  if (scheduler.frame < until) scheduler.frame = until;
}
