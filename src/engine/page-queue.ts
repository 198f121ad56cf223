import { EMPTY, concatMap, expand, from, subscribeOn, type Observable, type SchedulerLike } from 'rxjs';
import type { OpId, PendingOp } from '../op/pending-op';
import type { StorePort } from '../../streams/ports';

/**
 * The pending queue in FIFO order, read page by page with `afterId`
 * (bounded memory however long the queue is): emits each op, then
 * completes. Cold: each subscription reads afresh. `pageSize` is floored,
 * at least 1. Every further page is read in a later task on `later`, so
 * walking a long queue (the age metrics' seed at start-up, an optimistic
 * store's rebase) never holds the event loop for more than one page: with a
 * synchronous driver a chain of resolved reads would otherwise run as one
 * block.
 *
 * @example
 * pageQueue(store, 50, asapScheduler).pipe(toArray()).subscribe((ops) => render(ops));
 */
export function pageQueue(store: Pick<StorePort, 'peek'>, pageSize: number, later: SchedulerLike): Observable<PendingOp> {
  const size = Math.max(1, Math.floor(pageSize));
  const page = (after?: OpId) => store.peek(size, after);
  return page().pipe(
    expand((ops) => (ops.length < size ? EMPTY : page(ops[ops.length - 1]!.id).pipe(subscribeOn(later)))),
    concatMap((ops) => from(ops)),
  );
}
