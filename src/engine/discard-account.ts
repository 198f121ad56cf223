import { EMPTY, concat, concatMap, defer, expand, from, ignoreElements, last, scan, startWith, type Observable } from 'rxjs';
import type { StorePort } from '../../streams/ports';
import { ValidationError, type ErrorInfo } from '../errors/sync-error';
import type { OpId, PendingOp } from '../op/pending-op';
import type { DiscardAccountOptions } from './sync-engine';

/** The error code recorded on the (at once discarded) dead-letter records: such ops have no `results$` entry. */
export const ACCOUNT_DISCARDED_CODE = 'account_discarded';

/** The error recorded on the (at once discarded) dead-letter records. */
const DISCARDED: ErrorInfo = Object.freeze({ kind: 'validation', code: ACCOUNT_DISCARDED_CODE });

/**
 * Remove every pending op of `accountId` from the queue, page by page
 * (bounded memory), each through the store's own fail-then-discard path
 * (the `drop` conflict resolution's): dead-lettered with reason `dropped`,
 * then discarded. A crash in between leaves it in `failed_ops`, never lost
 * in silence. Ops of other accounts and ops with no account are not
 * touched. Emits how many ops were removed, then completes.
 *
 * The caller makes sure none of them is being processed (the engine
 * refuses while that account is signed in and waits for the settle lane).
 *
 * @example
 * discardAccountOps(store, 'user-a', 50, now).subscribe((n) => console.log(`${n} ops discarded`));
 */
export function discardAccountOps(
  store: Pick<StorePort, 'peek' | 'fail' | 'discardFailed'>,
  accountId: string,
  pageSize: number,
  now: () => number,
): Observable<number> {
  const page$ = (afterId?: OpId): Observable<readonly PendingOp[]> => store.peek(pageSize, afterId);
  const discard$ = (op: PendingOp): Observable<never> =>
    concat(store.fail(op, { reason: 'dropped', error: DISCARDED, failedAt: now() }), store.discardFailed(op.id)).pipe(ignoreElements());
  return page$().pipe(
    // The next page is read after the last op of this one; removed ops are
    // behind it, so paging is not disturbed by the removals.
    expand((page) => (page.length === 0 ? EMPTY : defer(() => page$((page[page.length - 1] as PendingOp).id))), 1),
    concatMap((page) => {
      const mine = page.filter((op) => op.accountId === accountId);
      return concat(from(mine).pipe(concatMap(discard$)), [mine.length]);
    }),
    scan((total, n) => total + n, 0),
    startWith(0),
    last(),
  );
}

/**
 * Why `discardAccount(accountId, options)` must not run, or undefined:
 * a bad id, no `{ confirm: true }` (`notConfirmed`), or the account signed
 * in now (`accountSignedIn`: its ops may be in flight; sign it out first).
 *
 * @example
 * discardRefusal('ada', {}, null); // ValidationError('notConfirmed')
 */
export function discardRefusal(accountId: unknown, options: DiscardAccountOptions | undefined, signedIn: string | null): ValidationError | undefined {
  if (typeof accountId !== 'string' || accountId === '') return new ValidationError('invalidOptions', 'accountId: expected a non-empty string');
  if (options?.confirm !== true) return new ValidationError('notConfirmed', 'discardAccount: pass { confirm: true }');
  if (accountId === signedIn) return new ValidationError('accountSignedIn', 'discardAccount: sign the account out first');
  return undefined;
}
