import { concatMap, map, mergeMap, take, timer } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { marbles } from 'rxjs-marbles/jest';
import { ValidationError } from '../../src/errors/sync-error';
import { MAX_TIMER_DELAY_MS } from '../../src/policy/backoff';
import { MIN_REFILL_PER_SECOND, RATE_LIMIT_DEFAULTS, createRateLimiter, rateLimit } from '../../src/security/rate-limiter';
import { hostTimerScheduler } from '../support/host-timer-scheduler';
import { jumpingClock } from '../support/jumping-clock';

const newScheduler = () => new TestScheduler((a, b) => expect(a).toEqual(b));

describe('createRateLimiter (token bucket)', () => {
  it('lets a burst of `capacity` through at once, then one per 1/rate', () => {
    const ts = newScheduler();
    ts.run(({ cold, expectObservable }) => {
      const limiter = createRateLimiter({ capacity: 3, refillPerSecond: 10 }, ts);
      // six requests at t=0: three pass, then one every 100 ms
      const requests$ = cold('(abcdef|)');
      const passed$ = requests$.pipe(mergeMap((r) => limiter.take().pipe(map(() => r))));
      expectObservable(passed$).toBe('(abc) 95ms d 99ms e 99ms (f|)');
    });
  });

  it('waiters are served in subscription order', () => {
    const ts = newScheduler();
    ts.run(({ cold, expectObservable }) => {
      const limiter = createRateLimiter({ capacity: 1, refillPerSecond: 2 }, ts);
      const passed$ = cold('(xyz|)').pipe(mergeMap((r) => limiter.take().pipe(map(() => r))));
      expectObservable(passed$).toBe('x 499ms y 499ms (z|)');
    });
  });

  it('refills over time up to capacity, never beyond', () => {
    const ts = newScheduler();
    ts.run(({ cold, expectObservable }) => {
      const limiter = createRateLimiter({ capacity: 2, refillPerSecond: 1 }, ts);
      // two spent at 0; after 10 s idle the bucket holds 2 (not 10): a, b pass; c waits 1 s
      const passed$ = cold('(ab) 10s (cde|)').pipe(mergeMap((r) => limiter.take().pipe(map(() => r))));
      expectObservable(passed$).toBe('(ab) 10s (cd) 996ms (e|)');
    });
  });

  it('an unsubscribed waiter gives its reservation back', () => {
    const ts = newScheduler();
    ts.run(({ expectObservable }) => {
      const limiter = createRateLimiter({ capacity: 1, refillPerSecond: 1 }, ts);
      expectObservable(limiter.take()).toBe('(a|)', { a: undefined });
      // this waiter would get the token at 1000 ms but gives up at 200 ms
      expectObservable(limiter.take(), '^ 199ms !').toBe('');
      // so this one, arriving at 300 ms, waits only for the refill: until 1000 ms
      // at 300 ms (before c): 0 − 1 reserved + 0.2 refilled + 1 given back + 0.1 refilled
      ts.schedule(() => expect(limiter.available()).toBeCloseTo(0.3, 5), 300);
      expectObservable(timer(300).pipe(concatMap(() => limiter.take()), map(() => 'c'))).toBe('1000ms (c|)');
    });
  });

  it('rateLimit() operator passes values in order, spaced by the bucket', () => {
    const ts = newScheduler();
    ts.run(({ cold, expectObservable }) => {
      const limiter = createRateLimiter({ capacity: 1, refillPerSecond: 4 }, ts);
      expectObservable(cold('(abc|)').pipe(rateLimit(limiter))).toBe('a 249ms b 249ms (c|)');
    });
  });

  it(
    'defaults only hold a runaway loop: 1 000 back to back, then 200 per second',
    marbles((m) => {
      const limiter = createRateLimiter({}, m.scheduler);
      expect(RATE_LIMIT_DEFAULTS).toEqual({ capacity: 1000, refillPerSecond: 200 });
      const requests$ = m.cold('(a|)').pipe(mergeMap(() => timer(0, 0, m.scheduler).pipe(take(1002))));
      const passed$ = requests$.pipe(mergeMap((i) => limiter.take().pipe(map(() => i))));
      const counted: number[] = [];
      passed$.subscribe(() => counted.push(m.scheduler.now()));
      m.scheduler.flush();
      expect(counted.slice(0, 1000).every((t) => t === 0)).toBe(true);
      expect(counted.slice(1000)).toEqual([5, 10]);
    }),
  );

  it(
    'defaults never slow a normal drain: a 1 000-op backlog at a 6 ms round trip takes the network time',
    marbles((m) => {
      // One request at a time, as the drain sends: take a token, then 6 ms on the wire.
      const limiter = createRateLimiter({}, m.scheduler);
      const backlog$ = m.cold('(a|)').pipe(
        mergeMap(() => timer(0, 0, m.scheduler).pipe(take(1000))),
        concatMap(() => limiter.take().pipe(concatMap(() => timer(6, m.scheduler)))),
      );
      let doneAt = -1;
      backlog$.subscribe({ complete: () => (doneAt = m.scheduler.now()) });
      m.scheduler.flush();
      expect(doneAt).toBe(6000);
    }),
  );

  it.each([
    [{ capacity: 0 }],
    [{ capacity: Infinity }],
    [{ refillPerSecond: 0 }],
    [{ refillPerSecond: -1 }],
    [{ refillPerSecond: NaN }],
    // One token would take longer than a timer can wait (2^31 − 1 ms).
    [{ refillPerSecond: MIN_REFILL_PER_SECOND / 2 }],
  ])('refuses %o with ValidationError(invalidOptions)', (options) => {
    expect(() => createRateLimiter(options)).toThrow(ValidationError);
  });

  it('at the slowest refill it accepts, waits that add up past a timer limit are waited out in pieces, not fired at once', () => {
    const ts = newScheduler();
    ts.run(({ cold, expectObservable }) => {
      // Host timers: a delay above 2^31 − 1 ms fires after 1 ms.
      const limiter = createRateLimiter({ capacity: 1, refillPerSecond: MIN_REFILL_PER_SECOND }, hostTimerScheduler(ts));
      const passed$ = cold('(abc|)').pipe(mergeMap((r) => limiter.take().pipe(map(() => r))));
      expectObservable(passed$).toBe(`a ${MAX_TIMER_DELAY_MS - 1}ms b ${MAX_TIMER_DELAY_MS - 1}ms (c|)`);
    });
  });

  it.each([
    ['1 h', -3_600_000],
    ['2 days', -172_800_000],
  ])('a clock stepped back %s neither stalls the refill nor lets the waits grow', (_name, jumpMs) => {
    const ts = newScheduler();
    ts.run(({ cold, expectObservable }) => {
      const clock = jumpingClock(ts);
      const limiter = createRateLimiter({ capacity: 1, refillPerSecond: 1 }, clock.scheduler);
      ts.schedule(() => clock.jump(jumpMs), 500);
      // A request every 2 s at 1/s: after the first wait across the step, each passes at once.
      const passed$ = cold('a 999ms b 1999ms c 1999ms d 1999ms (e|)').pipe(mergeMap((r) => limiter.take().pipe(map(() => r))));
      expectObservable(passed$).toBe('a 1999ms b 999ms c 1999ms d 1999ms (e|)');
    });
  });
});
