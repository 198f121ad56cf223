/**
 * Why an op left the queue for the dead-letter queue. `dropped` marks a
 * conflict that reconciliation dropped: its record is discarded right after
 * (it is only seen if a crash hits between the two writes). `redirect`: the
 * server answered with a redirect, which the engine never follows.
 * `cancelled`: the app cancelled the op (`engine.cancel`); like `dropped`,
 * its record is discarded right after.
 *
 * Defined beside the op (not in the store) so the idempotency rules, which
 * read it, stay below the store.
 */
export type FailureReason = 'permanent' | 'exhausted' | 'conflict' | 'dropped' | 'malformedResponse' | 'redirect' | 'corrupt' | 'cancelled';
