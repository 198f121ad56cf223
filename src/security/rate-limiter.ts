import { Observable, asyncScheduler, concatMap, map, type MonoTypeOperatorFunction, type SchedulerLike, type Subscription } from 'rxjs';
import { ValidationError } from '../errors/sync-error';
import { MAX_TIMER_DELAY_MS } from '../policy/backoff';

/** Token-bucket settings. */
export interface RateLimitOptions {
  /** Burst size: requests allowed back to back from a full bucket. Default 1 000. */
  readonly capacity?: number;
  /** Sustained rate: tokens added per second. Default 200. */
  readonly refillPerSecond?: number;
}

/**
 * A safety net, not a throttle: it must never be what a normal drain waits
 * on. The drain sends one request at a time, so its rate is one per round
 * trip — ~170/s at a 6 ms browser round trip, ~1 300/s on loopback. A full
 * bucket lets a 1 000-op backlog through at network speed on any link;
 * beyond that, 200 requests a second is more than one client on a real
 * network (round trip ≥ 5 ms) sends, so only a loop that keeps a fast server
 * (LAN, loopback) busy for seconds on end is held — to 200 a second.
 *
 * @example
 * createSyncEngine({ ...options, rateLimit: { ...RATE_LIMIT_DEFAULTS, refillPerSecond: 50 } });
 */
export const RATE_LIMIT_DEFAULTS: Readonly<Required<RateLimitOptions>> = { capacity: 1000, refillPerSecond: 200 };

/** The slowest refill a timer can honour: one token per 2^31 − 1 ms (~24.8 days). */
export const MIN_REFILL_PER_SECOND = 1000 / MAX_TIMER_DELAY_MS;

/** A client-side token bucket the pipeline passes before every send. */
export interface RateLimiter {
  /**
   * Emits once (then completes) when a token is available: at once from a
   * non-empty bucket, else after the wait on the limiter's scheduler.
   * Waiters are served in subscription order; unsubscribing before the
   * emission gives the reservation back.
   */
  take(): Observable<void>;
  /** Tokens available now (fractional; negative while reservations wait). */
  available(): number;
}

/**
 * Create a token bucket on `scheduler` (virtual time in tests). The bucket
 * starts full; it refills continuously at `refillPerSecond` up to `capacity`.
 *
 * @example
 * const limiter = createRateLimiter({ capacity: 5, refillPerSecond: 2 });
 * const send$ = limiter.take().pipe(switchMap(() => api.send(op)));
 */
export function createRateLimiter(options: RateLimitOptions = {}, scheduler: SchedulerLike = asyncScheduler): RateLimiter {
  const { capacity, refillPerSecond: rate } = resolveRateLimit(options);
  // Tokens may go negative: each waiter reserves its token at subscription,
  // which serves waiters in order without a queue.
  let tokens = capacity;
  let last = scheduler.now();

  const refill = (): void => {
    const t = scheduler.now();
    if (t > last) {
      tokens = Math.min(capacity, tokens + ((t - last) * rate) / 1000);
      last = t;
    } else if (t < last) {
      // The clock stepped back: count from here, or nothing would refill
      // until it caught up again (and every wait would keep growing).
      last = t;
    }
  };

  return {
    take: () =>
      new Observable<void>((subscriber) => {
        refill();
        tokens -= 1;
        if (tokens >= 0) {
          subscriber.next();
          subscriber.complete();
          return undefined;
        }
        // Wait until the refill has paid this reservation back.
        // (the epsilon keeps float dust like 700.0000000001 from adding a ms)
        const wait = waitInPieces(scheduler, Math.ceil((-tokens * 1000) / rate - 1e-6), () => {
          subscriber.next();
          subscriber.complete();
        });
        return () => {
          if (wait.cancel()) {
            refill();
            tokens = Math.min(capacity, tokens + 1);
          }
        };
      }),
    available: () => {
      refill();
      return tokens;
    },
  };
}

/** The options with defaults filled in; throws `ValidationError` (`invalidOptions`) when out of range. */
function resolveRateLimit(options: RateLimitOptions): Required<RateLimitOptions> {
  const capacity = options.capacity ?? RATE_LIMIT_DEFAULTS.capacity;
  const refillPerSecond = options.refillPerSecond ?? RATE_LIMIT_DEFAULTS.refillPerSecond;
  if (!(Number.isFinite(capacity) && capacity >= 1)) {
    throw new ValidationError('invalidOptions', 'rateLimit.capacity: expected a finite number ≥ 1');
  }
  // One token's wait (1000 / rate ms) must fit in a timer.
  if (!(Number.isFinite(refillPerSecond) && refillPerSecond >= MIN_REFILL_PER_SECOND)) {
    throw new ValidationError('invalidOptions', `rateLimit.refillPerSecond: expected a finite number ≥ ${MIN_REFILL_PER_SECOND}`);
  }
  return { capacity, refillPerSecond };
}

/**
 * Call `fire` after `ms` on `scheduler`. Many waiters can add up past a
 * timer's limit, so the wait is scheduled in pieces of at most
 * `MAX_TIMER_DELAY_MS`. `cancel()` stops it and tells whether it was still
 * pending (false once `fire` ran).
 */
function waitInPieces(scheduler: SchedulerLike, ms: number, fire: () => void): { cancel(): boolean } {
  let leftMs = ms;
  let done = false;
  let action: Subscription;
  const arm = (): void => {
    const stepMs = Math.min(leftMs, MAX_TIMER_DELAY_MS);
    leftMs -= stepMs;
    action = scheduler.schedule(() => {
      if (leftMs > 0) return arm();
      done = true;
      fire();
    }, stepMs);
  };
  arm();
  return {
    cancel: () => {
      action.unsubscribe();
      return !done;
    },
  };
}

/**
 * Operator form: each value waits for a token before it is passed on, in
 * order.
 *
 * @example
 * ops$.pipe(rateLimit(limiter), concatMap(send));
 */
export function rateLimit<T>(limiter: RateLimiter): MonoTypeOperatorFunction<T> {
  return concatMap((value: T) => limiter.take().pipe(map(() => value)));
}
