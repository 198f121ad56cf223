import { Observable, map } from 'rxjs';
import type { StorePort } from '../../streams/ports';
import type { OpStore } from '../store/op-store';

/**
 * The Promise-based `OpStore` as the streams' Observable `StorePort`: every
 * call is deferred (nothing runs until subscribed; each subscription calls
 * the store once).
 *
 * @example
 * const port = storePortFromOpStore(await createOpStore({ name: 'app' }));
 */
export function storePortFromOpStore(store: OpStore): StorePort {
  // `defer(() => from(fn()))` in one Observable: the store is called per
  // subscription, a synchronous throw or a rejection is the error. Several
  // calls per op go through here, so it skips the two wrapper subscribers.
  const call = <T>(fn: () => Promise<T>): Observable<T> =>
    new Observable<T>((subscriber) => {
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
  return {
    append: (op) => call(() => store.append(op)),
    peek: (n, afterId) => call(() => store.peek(n, afterId)),
    update: (op) => call(() => store.update(op)),
    complete: (op, at) => call(() => store.complete(op, at)),
    fail: (op, failure) => call(() => store.fail(op, failure)),
    discardFailed: (id) => call(() => store.failed.discard(id)),
    isCompleted: (key) => call(() => store.isCompleted(key)),
    counts: () => call(() => store.counts()),
    readMeta: <T>(key: string) => call(() => store.readMeta<T>(key)),
    writeMeta: <T>(key: string, value: T) => call(() => store.writeMeta<T>(key, value)).pipe(map(() => undefined)),
    changes$: store.changes$,
    failed: store.failed,
  };
}
