import { taskScheduler, type PostTask } from '../../src/engine/task-scheduler';

// The platform adapter itself: real macrotasks, ordering only (no timing).

const nextMacrotask = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('taskScheduler', () => {
  test('zero-delay work runs in a later task, after the current task and its microtasks', async () => {
    const log: string[] = [];
    taskScheduler().schedule(() => void log.push('task'));
    void Promise.resolve().then(() => log.push('microtask'));
    log.push('sync');
    expect(log).toEqual(['sync']);
    await nextMacrotask();
    await nextMacrotask();
    expect(log).toEqual(['sync', 'microtask', 'task']);
  });

  test('unsubscribing before it runs cancels the work', async () => {
    const log: string[] = [];
    const scheduler = taskScheduler();
    scheduler.schedule(() => void log.push('cancelled')).unsubscribe();
    scheduler.schedule(() => void log.push('kept'));
    await nextMacrotask();
    await nextMacrotask();
    expect(log).toEqual(['kept']);
  });

  test('work receives its state and can reschedule itself through the action', () => {
    const posted: Array<() => void> = [];
    const post: PostTask = (run) => posted.push(run);
    const seen: number[] = [];
    taskScheduler(post).schedule(
      function (n) {
        seen.push(n as number);
        if ((n as number) < 3) this.schedule((n as number) + 1);
      },
      0,
      1,
    );
    while (posted.length > 0) posted.shift()!();
    expect(seen).toEqual([1, 2, 3]);
  });

  test('without setImmediate (browsers) it posts through a MessageChannel', async () => {
    const g = globalThis as { setImmediate?: unknown };
    const saved = g.setImmediate;
    let scheduler;
    try {
      g.setImmediate = undefined;
      scheduler = taskScheduler();
    } finally {
      g.setImmediate = saved;
    }
    const log: string[] = [];
    scheduler.schedule(() => void log.push('a'));
    scheduler.schedule(() => void log.push('b'));
    void Promise.resolve().then(() => log.push('microtask'));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(log).toEqual(['microtask', 'a', 'b']);
  });
});
