import { Observable } from 'rxjs';

/**
 * `defer(() => from(fn()))` as one Observable: calls `fn` per subscription
 * and emits its value, or errors with its throw or rejection. The ports that
 * wrap Promise APIs (store, auth) are called several times per op, so this
 * skips two wrapper subscribers on the drain's hot path.
 *
 * @example
 * const counts$ = fromCall(() => store.counts());
 */
export function fromCall<T>(fn: () => Promise<T>): Observable<T> {
  return new Observable<T>((subscriber) => {
    let result: Promise<T>;
    try {
      result = fn();
    } catch (err) {
      subscriber.error(err);
      return;
    }
    result.then(
      (value) => {
        subscriber.next(value);
        subscriber.complete();
      },
      (err: unknown) => subscriber.error(err),
    );
  });
}
