import { VirtualTimeScheduler, asapScheduler, asyncScheduler, queueScheduler } from 'rxjs';
import { monotonicClock } from '../../src/lock/monotonic-clock';

describe('monotonicClock', () => {
  afterEach(() => jest.restoreAllMocks());

  test('a virtual-time scheduler is its own monotonic clock', () => {
    const scheduler = new VirtualTimeScheduler();
    const clock = monotonicClock(scheduler);
    scheduler.schedule(() => undefined, 1234);
    scheduler.flush();
    expect(clock()).toBe(1234);
  });

  test.each([
    ['asyncScheduler', asyncScheduler],
    ['asapScheduler', asapScheduler],
    ['queueScheduler', queueScheduler],
  ])('with %s (whose now() is Date.now) it reads performance.now(), not the wall clock', (_name, scheduler) => {
    const perf = jest.spyOn(performance, 'now').mockReturnValue(42);
    jest.spyOn(Date, 'now').mockReturnValue(1_700_000_000_000 - 3_600_000); // the wall clock stepped back
    const clock = monotonicClock(scheduler);
    expect(clock()).toBe(42);
    perf.mockReturnValue(43);
    expect(clock()).toBe(43);
  });
});
