import { Observable, type Subscription } from 'rxjs';

/**
 * `source.pipe(switchMap(project))` as one Observable, for the single-value
 * ports asked once per op (ledger check, token): each value unsubscribes the
 * previous inner and subscribes `project(value)`; a throwing `project`, or
 * any error, is the error; completes once the source and the last inner have.
 *
 * Why not `switchMap`: it runs once per op on the drain's hot path (ledger
 * check, token, commit), where one Observable instead of an operator chain
 * measurably lowers the per-op CPU (docs/performance.md, Drain). Its
 * behaviour is `switchMap`'s, pinned by `test/streams/switch-to.test.ts`.
 *
 * @example
 * switchTo(store.isCompleted(key), (done) => (done ? completeFromLedger() : send()));
 */
export function switchTo<A, B>(source: Observable<A>, project: (value: A) => Observable<B>): Observable<B> {
  return new Observable<B>((subscriber) => {
    let inner: Subscription | null = null;
    let outerDone = false;
    const outer = source.subscribe({
      next: (value) => {
        inner?.unsubscribe();
        inner = null;
        let inner$: Observable<B>;
        try {
          inner$ = project(value);
        } catch (err) {
          subscriber.error(err);
          return;
        }
        let innerDone = false;
        const s = inner$.subscribe({
          next: (v) => subscriber.next(v),
          error: (err: unknown) => subscriber.error(err),
          complete: () => {
            innerDone = true;
            inner = null;
            if (outerDone) subscriber.complete();
          },
        });
        if (subscriber.closed) s.unsubscribe();
        else if (!innerDone) inner = s;
      },
      error: (err: unknown) => subscriber.error(err),
      complete: () => {
        outerDone = true;
        if (inner === null) subscriber.complete();
      },
    });
    return () => {
      outer.unsubscribe();
      inner?.unsubscribe();
    };
  });
}
