import { marbles } from 'rxjs-marbles/jest';
import { concat, defer, map, of, queueScheduler, throwError, timer, type Observable } from 'rxjs';
import { createSettleLane } from '../../streams/settle-lane';

type M = Parameters<Parameters<typeof marbles>[0]>[0];

/** A write that takes `ms` of virtual time and logs when it starts and lands. */
const write = (m: M, log: string[], name: string, ms: number): Observable<void> =>
  defer(() => {
    log.push(`${name}:start@${m.scheduler.now()}`);
    return timer(ms, m.scheduler).pipe(map(() => undefined));
  });

/** A write that fails after `ms`. */
const failing = (m: M, ms: number): Observable<void> =>
  concat(timer(ms, m.scheduler), throwError(() => new Error('disk full'))).pipe(map(() => undefined));

describe('settle lane (virtual time)', () => {
  test(
    'handed-off writes start on the scheduler and run one at a time in order, each then() after its write',
    marbles((m) => {
      const lane = createSettleLane(m.scheduler);
      const log: string[] = [];
      lane.handOff(write(m, log, 'a', 10), () => log.push(`a:then@${m.scheduler.now()}`));
      lane.handOff(write(m, log, 'b', 5), () => log.push(`b:then@${m.scheduler.now()}`));
      log.push('handed both');
      m.flush();
      expect(log).toEqual(['handed both', 'a:start@0', 'a:then@10', 'b:start@10', 'b:then@15']);
    }),
  );

  test(
    'runAndWait waits its turn behind handed-off writes and completes with its own write',
    marbles((m) => {
      const lane = createSettleLane(m.scheduler);
      const log: string[] = [];
      lane.handOff(write(m, log, 'a', 10), () => log.push('a:then'));
      m.expect(lane.runAndWait(write(m, log, 'b', 5), () => log.push('b:then'))).toBeObservable('15ms |');
      m.flush();
      expect(log).toEqual(['a:start@0', 'a:then', 'b:start@10', 'b:then']);
    }),
  );

  test(
    'a caller leaving a runAndWait does not cancel its write (detached)',
    marbles((m) => {
      const lane = createSettleLane(m.scheduler);
      const log: string[] = [];
      const sub = lane.runAndWait(write(m, log, 'a', 10), () => log.push(`a:then@${m.scheduler.now()}`)).subscribe();
      m.scheduler.schedule(() => sub.unsubscribe(), 5);
      m.flush();
      expect(log).toEqual(['a:start@0', 'a:then@10']);
    }),
  );

  test(
    'drained$ completes at once when idle, else when the last queued write landed',
    marbles((m) => {
      const lane = createSettleLane(m.scheduler);
      const drainedAt: number[] = [];
      lane.drained$.subscribe({ complete: () => drainedAt.push(m.scheduler.now()) });
      const log: string[] = [];
      lane.handOff(write(m, log, 'a', 10), () => undefined);
      lane.handOff(write(m, log, 'b', 10), () => undefined);
      lane.drained$.subscribe({ complete: () => drainedAt.push(m.scheduler.now()) });
      m.flush();
      expect(drainedAt).toEqual([0, 20]);
    }),
  );

  test(
    'a failed handed-off write drops what was queued behind it, is reported, and the lane drains',
    marbles((m) => {
      const lane = createSettleLane(m.scheduler);
      const log: string[] = [];
      const failures: string[] = [];
      lane.failures$.subscribe((e) => failures.push(`${(e as Error).message}@${m.scheduler.now()}`));
      lane.handOff(failing(m, 10), () => log.push('a:then'));
      lane.handOff(write(m, log, 'b', 5), () => log.push('b:then'));
      m.expect(lane.drained$).toBeObservable('10ms |');
      m.flush();
      expect(failures).toEqual(['disk full@10']);
      expect(log).toEqual([]);
      // The lane keeps working afterwards.
      lane.handOff(write(m, log, 'c', 1), () => log.push('c:then'));
      m.flush();
      expect(log).toEqual(['c:start@10', 'c:then']);
    }),
  );

  test(
    'a runAndWait queued behind a failed handed-off write is dropped and its caller gets the error',
    marbles((m) => {
      const lane = createSettleLane(m.scheduler);
      const log: string[] = [];
      lane.handOff(failing(m, 10), () => log.push('a:then'));
      const outcome: string[] = [];
      lane.runAndWait(write(m, log, 'b', 5), () => log.push('b:then')).subscribe({
        error: (e: Error) => outcome.push(`${e.message}@${m.scheduler.now()}`),
        complete: () => outcome.push('completed'),
      });
      m.flush();
      expect(outcome).toEqual(['disk full@10']);
      expect(log).toEqual([]);
    }),
  );

  test(
    'a failed runAndWait errors its caller only; the writes behind it still run',
    marbles((m) => {
      const lane = createSettleLane(m.scheduler);
      const log: string[] = [];
      const failures: unknown[] = [];
      lane.failures$.subscribe((e) => failures.push(e));
      const outcome: string[] = [];
      lane.runAndWait(failing(m, 10), () => log.push('a:then')).subscribe({ error: (e: Error) => outcome.push(`${e.message}@${m.scheduler.now()}`) });
      lane.handOff(write(m, log, 'b', 5), () => log.push('b:then'));
      m.flush();
      expect(outcome).toEqual(['disk full@10']);
      expect(log).toEqual(['b:start@10', 'b:then']);
      expect(failures).toEqual([]);
    }),
  );

  test(
    'a throwing then() is the write failing',
    marbles((m) => {
      const lane = createSettleLane(m.scheduler);
      const failures: unknown[] = [];
      lane.failures$.subscribe((e) => failures.push(e));
      lane.handOff(of(undefined), () => {
        throw new Error('subscriber bug');
      });
      m.expect(lane.runAndWait(of(undefined), () => {
        throw new Error('subscriber bug');
      })).toBeObservable('#', undefined, new Error('subscriber bug'));
      m.flush();
      expect(failures).toEqual([new Error('subscriber bug')]);
    }),
  );

  test('synchronous writes: one handed off from inside then() runs before those handed off after it returns', () => {
    const lane = createSettleLane(queueScheduler);
    const log: string[] = [];
    lane.handOff(of(undefined), () => {
      log.push('a');
      lane.handOff(of(undefined), () => log.push('c'));
    });
    lane.handOff(of(undefined), () => log.push('b'));
    expect(log).toEqual(['a', 'c', 'b']);
    let drained = false;
    lane.drained$.subscribe({ complete: () => (drained = true) });
    expect(drained).toBe(true);
  });
});
