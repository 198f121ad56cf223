import type { PendingOp } from '../op/pending-op';
import type { FailedOps } from '../store/op-store';

/**
 * The dead-letter queue as the engine exposes it: the store's `FailedOps`
 * plus the two bulk actions a "3 changes could not be saved — retry all /
 * discard all" banner needs.
 */
export interface EngineFailedOps extends FailedOps {
  /**
   * `retry` every record that holds an op, one after the other in the
   * list's order (the queue's original order), so the retried ops keep
   * their relative order at the tail. Each gets a **new op id** and keeps
   * its `txToken`: correlate their results by `txToken`. Corrupt records
   * (no op) are left for `discard`. Resolves with the ops as queued; rejects
   * with the first failure (the records retried before it stay retried).
   */
  retryAll(): Promise<readonly PendingOp[]>;
  /**
   * `discard` every record (corrupt ones included): the changes are dropped
   * for good. Resolves with how many were discarded; rejects with the first
   * failure (the records discarded before it stay discarded).
   */
  discardAll(): Promise<number>;
}

/**
 * `failed` with `retryAll` and `discardAll`, built on `list`, `retry` and
 * `discard` (the store needs nothing more).
 *
 * @example
 * const failedOps = withBulkActions(store.failed);
 * const retried = await failedOps.retryAll(); // results$ entries follow, matched by txToken
 */
export function withBulkActions(failed: FailedOps): EngineFailedOps {
  return {
    list: () => failed.list(),
    retry: (id) => failed.retry(id),
    discard: (id) => failed.discard(id),
    retryAll: async () => {
      const retried: PendingOp[] = [];
      for (const record of await failed.list()) {
        if (record.op !== undefined) retried.push(await failed.retry(record.id));
      }
      return retried;
    },
    discardAll: async () => {
      let discarded = 0;
      for (const record of await failed.list()) {
        await failed.discard(record.id);
        discarded += 1;
      }
      return discarded;
    },
  };
}
