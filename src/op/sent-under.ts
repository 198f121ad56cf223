import type { PendingOp } from './pending-op';

/**
 * Whether `op` is sent while `account` is signed in: the account's own ops
 * and ops with no account (enqueued without `account$`, or by a build
 * before accounts). The one rule the drain, `whenIdle` and the optimistic
 * view share.
 *
 * @example
 * sentUnder({ accountId: 'ada' }, 'bob'); // false: Ada's op waits for her sign-in
 * sentUnder({}, 'bob'); // true
 */
export function sentUnder(op: Pick<PendingOp, 'accountId'>, account: string | null): boolean {
  return op.accountId === undefined || op.accountId === account;
}
