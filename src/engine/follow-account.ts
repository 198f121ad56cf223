import { distinctUntilChanged, map, type Observable, type Subscription } from 'rxjs';
import type { StatusAction } from './status-reducer';

/** What following the signed-in account acts on. */
export interface AccountSinks {
  /** The status reducer. */
  status(action: StatusAction): void;
  /** The account the drain runs for (a change ends the previous account's drain). */
  account(id: string | null): void;
  /** Forget the previous account's tokens (`AuthPort.forget`). */
  forget(): void;
  /** Whether the engine waits in `authRequired`. */
  authRequired(): boolean;
}

/**
 * Follow the app's `account$` (a non-empty string is an account, anything
 * else signed out). On every change, in this order: the tokens of the
 * previous account are forgotten; signed out, the gate closes
 * (`signedOut`) before the drain is told, so it never restarts with no
 * account; signed in, the drain is told, then the gate opens, and
 * `authRequired` is left (a sign-in brings new credentials). The count of
 * ops waiting for another account is reset: the next pass counts again.
 *
 * @example
 * subs.add(followAccount(deps.account$, { status: dispatch, account: (id) => account.next(id), forget: () => auth.forget?.(), authRequired: () => state.authRequired }));
 */
export function followAccount(account$: Observable<unknown>, to: AccountSinks): Subscription {
  to.status({ type: 'account', signedOut: true });
  return account$
    .pipe(
      map((id) => (typeof id === 'string' && id !== '' ? id : null)),
      distinctUntilChanged(),
    )
    .subscribe((id) => {
      to.forget();
      to.status({ type: 'waitingForAccount', count: 0 });
      if (id === null) {
        to.status({ type: 'account', signedOut: true });
        to.account(null);
        return;
      }
      to.account(id);
      to.status({ type: 'account', signedOut: false });
      if (to.authRequired()) to.status({ type: 'authRequired', required: false });
    });
}
