import { Observable } from 'rxjs';

/**
 * Run `source` to completion even if the subscriber leaves early: each
 * subscription starts it on its own (detached) subscription and forwards
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
    // The source's subscription is not tied to the subscriber's: it runs to
    // its end whatever the subscriber does. Notifications reach the
    // subscriber in order while it listens (a synchronous source delivers
    // them during subscribe, as the ReplaySubject used before replayed them);
    // after it left they are dropped — an error included, never rethrown.
    // Per op (commit), so no Subject in between.
    let listener: typeof subscriber | null = subscriber;
    source.subscribe({
      next: (value) => listener?.next(value),
      error: (err: unknown) => listener?.error(err),
      complete: () => listener?.complete(),
    });
    return () => {
      listener = null;
    };
  });
}
