import { EMPTY, catchError, defer, filter, map, repeat, takeWhile, type Observable } from 'rxjs';
import type { StoreCounts } from '../store/op-store';
import type { StorePort } from '../../streams/ports';

/** Counts reads tried before giving up until the next idle (each raced a change). */
const COUNTS_READ_TRIES = 5;

/**
 * The store's counts from a read no change raced. A change that lands while
 * a counts read is in flight may or may not be in its answer, so such a
 * read is ambiguous: read again, a few times at most (the change feed
 * keeps the counts exact in between). `changeSeq()` counts the changes seen
 * so far. Emits at most once; never errors (a failed read is dropped).
 *
 * @example
 * cleanCounts$(store, () => changesSeen).subscribe((c) => dispatch({ type: 'counts', ...c }));
 */
export function cleanCounts$(store: Pick<StorePort, 'counts'>, changeSeq: () => number): Observable<StoreCounts> {
  const read = defer(() => {
    const seq = changeSeq();
    return store.counts().pipe(map((counts) => ({ counts, clean: seq === changeSeq() })));
  });
  return read.pipe(
    repeat(COUNTS_READ_TRIES),
    takeWhile((r) => !r.clean, true),
    filter((r) => r.clean),
    map((r) => r.counts),
    catchError(() => EMPTY),
  );
}
