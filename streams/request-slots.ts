import { Observable, Subject } from 'rxjs';

/**
 * At most `limit` requests on the wire at once, granted in the order they
 * asked. Only a request holds a slot: an op waiting (backoff, a stored
 * wait, a token refresh) holds none, so it never keeps another key's op
 * from being sent.
 */
export interface RequestSlots {
  /**
   * `request$` once a slot is free: subscribes to it when granted, frees
   * the slot when it completes, errors or is unsubscribed. Cold.
   */
  run<T>(request$: Observable<T>): Observable<T>;
  /** Requests holding a slot now. */
  readonly inUse: number;
  /** Slots nobody holds or waits for: a request asking now is granted at once. */
  readonly free: number;
  /** Emits each time a slot becomes free (released with nobody waiting for it). */
  readonly freed$: Observable<void>;
}

/**
 * A FIFO counting semaphore over Observables (`mergeMap`'s concurrency
 * limit, shared by every op of the drain instead of one source's).
 *
 * ```
 * limit 2
 * run(a$)   a-----|
 * run(b$)   b--|
 * run(c$)   ...c----|        (granted when b$ completed)
 * freed$    ------f-f         (a$, then c$ completed with nobody waiting)
 * ```
 *
 * @example
 * const slots = createRequestSlots(8);
 * slots.run(api.send(request)).subscribe(handle);
 */
export function createRequestSlots(limit: number): RequestSlots {
  let inUse = 0;
  const waiting: Array<() => void> = [];
  const freed$ = new Subject<void>();
  const release = (): void => {
    const next = waiting.shift();
    if (next !== undefined) return next();
    inUse -= 1;
    freed$.next();
  };
  return {
    get inUse() {
      return inUse;
    },
    get free() {
      return Math.max(0, limit - inUse - waiting.length);
    },
    freed$: freed$.asObservable(),
    run<T>(request$: Observable<T>): Observable<T> {
      return new Observable<T>((subscriber) => {
        let held = false;
        let inner: { unsubscribe(): void } | undefined;
        const free = (): void => {
          if (!held) return;
          held = false;
          release();
        };
        const grant = (): void => {
          held = true;
          inner = request$.subscribe({
            next: (v) => subscriber.next(v),
            error: (e: unknown) => {
              free();
              subscriber.error(e);
            },
            complete: () => {
              free();
              subscriber.complete();
            },
          });
        };
        if (inUse < limit) {
          inUse += 1;
          grant();
        } else {
          waiting.push(grant);
        }
        return () => {
          const at = waiting.indexOf(grant);
          if (at >= 0) waiting.splice(at, 1);
          inner?.unsubscribe();
          free();
        };
      });
    },
  };
}
