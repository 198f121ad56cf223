import { EMPTY, concatMap, defer, expand, map, of, reduce, shareReplay, type Observable } from 'rxjs';
import { fromCall } from '../../streams/from-call';
import type { StorePort } from '../../streams/ports';
import type { OpId, PendingOp } from '../op/pending-op';
import type { FailedRecord } from '../store/op-store';
import type { DepartureEvidence } from './recovered-result';

/**
 * Every pending op, read page by page (`peek` after the last id): the full
 * read an audit falls back to when the counts do not add up.
 *
 * @example
 * pendingById(store, 100).subscribe((ops) => ops.has(id));
 */
export function pendingById(store: Pick<StorePort, 'peek'>, pageSize: number): Observable<ReadonlyMap<OpId, PendingOp>> {
  const page$ = (afterId?: OpId): Observable<readonly PendingOp[]> => store.peek(pageSize, afterId);
  return page$().pipe(
    expand((page) => (page.length < pageSize ? EMPTY : defer(() => page$((page[page.length - 1] as PendingOp).id))), 1),
    reduce((all, page) => {
      for (const op of page) all.set(op.id, op);
      return all;
    }, new Map<OpId, PendingOp>()),
  );
}

/**
 * Looks up what the store recorded about ops that left the queue: the
 * ledger first (the server's 2xx was recorded), then the dead-letter queue
 * (read once per lookup object, on first need). Neither: `none`.
 *
 * @example
 * const evidence = departureEvidence(store);
 * evidence(op).subscribe((e) => console.log(e.kind));
 */
export function departureEvidence(store: Pick<StorePort, 'isCompleted' | 'failed'>): (op: PendingOp) => Observable<DepartureEvidence> {
  const failed$ = fromCall(() => store.failed.list()).pipe(shareReplay(1));
  return (op) =>
    store.isCompleted(op.idempotencyKey).pipe(
      concatMap((committed): Observable<DepartureEvidence> => {
        if (committed) return of({ kind: 'committed' });
        return failed$.pipe(
          map((records): DepartureEvidence => {
            const record = records.find((r: FailedRecord) => r.id === op.id);
            return record === undefined ? { kind: 'none' } : { kind: 'failed', record };
          }),
        );
      }),
    );
}
