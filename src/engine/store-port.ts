import { map } from 'rxjs';
import { fromCall } from '../../streams/from-call';
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
  const completeAll = store.completeAll?.bind(store);
  return {
    append: (op) => fromCall(() => store.append(op)),
    peek: (n, afterId) => fromCall(() => store.peek(n, afterId)),
    update: (op) => fromCall(() => store.update(op)),
    rewrite: (op) => fromCall(() => store.rewrite(op)),
    complete: (op, at) => fromCall(() => store.complete(op, at)),
    ...(completeAll === undefined ? {} : { completeAll: (done) => fromCall(() => completeAll(done)) }),
    fail: (op, failure) => fromCall(() => store.fail(op, failure)),
    discardFailed: (id) => fromCall(() => store.failed.discard(id)),
    isCompleted: (key) => fromCall(() => store.isCompleted(key)),
    completesAtomically: store.completesAtomically === true,
    counts: () => fromCall(() => store.counts()),
    readMeta: <T>(key: string) => fromCall(() => store.readMeta<T>(key)),
    writeMeta: <T>(key: string, value: T) => fromCall(() => store.writeMeta<T>(key, value)).pipe(map(() => undefined)),
    changes$: store.changes$,
    failed: store.failed,
  };
}
