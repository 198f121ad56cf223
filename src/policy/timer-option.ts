import { ValidationError } from '../errors/sync-error';
import { MAX_TIMER_DELAY_MS } from './backoff';

/**
 * Check an option that becomes a timer delay (a timeout, a poll or
 * heartbeat period, a retry wait): a finite number of ms, `> 0` (or `>= 0`
 * with `allowZero`) and at most `MAX_TIMER_DELAY_MS` — a longer delay
 * overflows `setTimeout`/`setInterval` and fires at once, so it cannot be
 * honoured. Returns the value; throws `ValidationError('invalidOptions')`
 * naming the option otherwise.
 *
 * @example
 * const idlePollMs = timerOptionMs('idlePollMs', options.idlePollMs ?? 5_000, { allowZero: true });
 * timerOptionMs('requestTimeoutMs', 3e9); // throws: would fire at once
 */
export function timerOptionMs(name: string, value: unknown, { allowZero = false }: { readonly allowZero?: boolean } = {}): number {
  const v = value as number;
  if (!(typeof v === 'number' && Number.isFinite(v) && (allowZero ? v >= 0 : v > 0))) {
    throw new ValidationError('invalidOptions', `${name}: expected a number of milliseconds ${allowZero ? '≥ 0' : '> 0'}`);
  }
  if (v > MAX_TIMER_DELAY_MS) {
    throw new ValidationError('invalidOptions', `${name}: expected at most ${MAX_TIMER_DELAY_MS} ms (a longer timer fires at once)`);
  }
  return v;
}
