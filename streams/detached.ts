import { Observable, ReplaySubject } from 'rxjs';

/**
 * Run `source` to completion even if the subscriber leaves early: the first
 * subscription starts it on its own (detached) subscription and replays
 * its notifications; unsubscribing only stops listening.
 *
 * The pipeline wraps the steps that follow a server's answer (ledger write,
 * dead-letter write, `results$` emission) with it: once the server has
 * answered, closing the gate (offline, lock lost, `stop()`) must not cut
 * the bookkeeping in half and leave an op completed in the store without
 * its result.
 *
 * ```
 * source:      ---a---|
 * subscriber:  ^--!
 * output:      ---       (source still runs to `|`)
 * ```
 *
 * @example
 * commit$ = detached(store.complete(op, now).pipe(tap(() => results.next(r))));
 */
export function detached<T>(source: Observable<T>): Observable<T> {
  return new Observable<T>((subscriber) => {
    const replay = new ReplaySubject<T>();
    source.subscribe(replay);
    return replay.subscribe(subscriber);
  });
}
