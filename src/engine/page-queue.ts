import { EMPTY, concatMap, expand, from, type Observable } from 'rxjs';
import type { OpId, PendingOp } from '../op/pending-op';
import type { StorePort } from '../../streams/ports';

/**
 * The pending queue in FIFO order, read page by page with `afterId`
 * (bounded memory however long the queue is): emits each op, then
 * completes. Cold: each subscription reads afresh. `pageSize` is floored,
 * at least 1.
 *
 * @example
 * pageQueue(store, 50).pipe(toArray()).subscribe((ops) => render(ops));
 */
export function pageQueue(store: Pick<StorePort, 'peek'>, pageSize: number): Observable<PendingOp> {
  const size = Math.max(1, Math.floor(pageSize));
  const page = (after?: OpId) => store.peek(size, after);
  return page().pipe(
    expand((ops) => (ops.length < size ? EMPTY : page(ops[ops.length - 1]!.id))),
    concatMap((ops) => from(ops)),
  );
}
