import type { SyncErrorKind } from './sync-error';

/**
 * The one table of messages shown to people, per error kind
 * (`docs/error_mapping.md`, column "user sees"). Fixed text only: never
 * interpolate payloads, server messages or tokens.
 *
 * @example
 * USER_MESSAGES.network; // 'You appear to be offline. …'
 */
export const USER_MESSAGES: Readonly<Record<SyncErrorKind, string>> = {
  network: 'You appear to be offline. Your change is saved and will sync when the connection returns.',
  timeout: 'The server is slow to respond. Your change is saved and will be retried.',
  server: 'The server had a problem. Your change is saved and will be retried.',
  rateLimited: 'The server asked us to slow down. Your change will sync shortly.',
  auth: 'Please sign in again to sync your changes.',
  permanent: 'The server rejected this change. It was not saved.',
  conflict: 'This change conflicts with a newer version on the server.',
  malformedResponse: 'The server sent an unreadable reply. Please check this change.',
  redirect: 'The server redirected this change instead of accepting it. Please check this change.',
  validation: 'This change is invalid and was not saved.',
  storage: 'Your device could not store this change.',
};

/**
 * The user-facing message for an error kind.
 *
 * @example
 * toast(userMessageFor(result.error.kind));
 */
export function userMessageFor(kind: SyncErrorKind): string {
  return USER_MESSAGES[kind];
}

/**
 * Shown for an op the app cancelled (`engine.cancel`): the `cancelled`
 * result's `message` and its optimistic rollback's. Not an error kind.
 */
export const CANCELLED_MESSAGE = 'This change was cancelled.';

/**
 * Shown for an op that left the queue in another tab or process whose
 * outcome this engine could not learn (its message was lost, and neither
 * the idempotency ledger nor the dead-letter queue holds it: it was
 * cancelled, dropped or discarded there). The `unknown` result's `message`.
 */
export const UNKNOWN_OUTCOME_MESSAGE = 'This change was handled in another window. Reload to see its outcome.';
