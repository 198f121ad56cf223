import { ValidationError } from '../../src/errors/sync-error';
import { MAX_TIMER_DELAY_MS } from '../../src/policy/backoff';
import { timerOptionMs } from '../../src/policy/timer-option';

describe('timerOptionMs', () => {
  test.each<[string, unknown, boolean]>([
    ['1 ms', 1, false],
    ['2^31 − 1 ms, the longest a timer waits', MAX_TIMER_DELAY_MS, false],
    ['0 where zero is allowed (disabled)', 0, true],
  ])('accepts %s', (_name, value, allowZero) => {
    expect(timerOptionMs('x', value, { allowZero })).toBe(value);
  });

  test.each<[string, unknown, boolean]>([
    ['2^31 ms: a timer would fire at once', MAX_TIMER_DELAY_MS + 1, false],
    ['2^31 ms even where zero is allowed', MAX_TIMER_DELAY_MS + 1, true],
    ['0 where a positive delay is needed', 0, false],
    ['a negative delay', -1, true],
    ['NaN', NaN, true],
    ['Infinity', Infinity, true],
    ['a string', '1000', false],
  ])('refuses %s with ValidationError(invalidOptions) naming the option', (_name, value, allowZero) => {
    let err: unknown;
    try {
      timerOptionMs('idlePollMs', value, { allowZero });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ValidationError);
    expect(err).toMatchObject({ reason: 'invalidOptions', detail: expect.stringMatching(/^idlePollMs: /) });
  });
});
