import { Observable, type SchedulerLike, type Subscription } from 'rxjs';
import { SyncError, TimeoutError } from '../errors/sync-error';
import { classifyError } from '../policy/classify-error';
import { classifyResponse, type HttpResponseLike } from '../policy/classify-response';
import type { HttpRequest, HttpTransport } from './http-transport';

/** A classified 2xx answer: HTTP status and the envelope's `data`. */
export interface ApiResponse {
  readonly status: number;
  readonly data: unknown;
}

/**
 * What an exchange makes of the HTTP answer: the value to emit, or a thrown
 * `SyncError` (the answer's classification). `at` is the clock when it came
 * (epoch ms, for `Retry-After` dates).
 *
 * @example
 * const read: ReadAnswer<ApiResponse> = classifiedAnswer;
 */
export type ReadAnswer<T> = (res: HttpResponseLike, at: number) => T;

/**
 * One exchange with a timeout, every outcome classified:
 * `defer(() => transport(request)).pipe(timeout({ first: timeoutMs }),
 * catchError(classifyError), map(classifyResponse))` as one Observable (it
 * runs per attempt); `transport` is called on subscription. The
 * timer starts after subscribing unless the answer came synchronously, and
 * is cleared by the first notification; when it fires the exchange is
 * unsubscribed (which aborts the fetch) and the attempt errors with
 * `TimeoutError('client_timeout')`. Behaves exactly as that operator chain:
 * test/api/api-client-timeout.test.ts. `read` turns the answer into the
 * value (default: one op's envelope, `classifiedAnswer`; a batch reads its
 * `results` instead), so `send` and `sendBatch` share one exchange.
 *
 * ```
 * transport  --o|        -----------
 * result     --a|        100ms #      (timeoutMs 100)
 * ```
 *
 * @example
 * classifiedExchange(transport, httpRequest, 15_000, scheduler, () => scheduler.now());
 */
export function classifiedExchange<T = ApiResponse>(
  transport: HttpTransport,
  request: HttpRequest,
  timeoutMs: number,
  scheduler: SchedulerLike,
  now: () => number,
  read: ReadAnswer<T> = classifiedAnswer as ReadAnswer<T>,
): Observable<T> {
  return new Observable<T>((subscriber) => {
    let seen = false;
    let timer: Subscription | undefined;
    const clearTimer = (): void => {
      seen = true;
      timer?.unsubscribe();
      timer = undefined;
    };
    const exchange = transport(request).subscribe({
      next: (res) => {
        clearTimer();
        let out: T;
        try {
          out = read(res, now());
        } catch (err) {
          subscriber.error(err);
          return;
        }
        subscriber.next(out);
      },
      // Transport failures (DNS, reset, refused, abort by a foreign signal)
      // become NetworkError / TimeoutError; never the raw message.
      error: (err: unknown) => {
        clearTimer();
        subscriber.error(err instanceof SyncError ? err : classifyError(err));
      },
      complete: () => {
        clearTimer();
        subscriber.complete();
      },
    });
    if (!seen && !subscriber.closed) {
      timer = scheduler.schedule(() => {
        timer = undefined;
        exchange.unsubscribe();
        subscriber.error(new TimeoutError({ code: 'client_timeout' }));
      }, timeoutMs);
    }
    return () => {
      timer?.unsubscribe();
      exchange.unsubscribe();
    };
  });
}

/**
 * One op's answer as `ApiResponse`; throws the classified `SyncError` for anything but a good 2xx.
 *
 * @example
 * classifiedAnswer({ status: 201, headers, bodyText: '{"data":{"id":"1"}}' }, now); // { status: 201, data: { id: '1' } }
 */
export function classifiedAnswer(res: HttpResponseLike, at: number): ApiResponse {
  const classified = classifyResponse(res, at);
  if (!classified.ok) throw classified.error;
  return { status: res.status, data: classified.data };
}
