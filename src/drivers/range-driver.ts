// `LocalForage` is a global interface of localforage's typings; the
// reference (kept in the emitted .d.ts) makes it visible to consumers whose
// program would otherwise not load those typings.
/// <reference types="localforage" preserve="true" />
/**
 * Optional extras a localforage custom driver may carry next to the standard
 * methods. localforage copies every own property of the driver object onto
 * the instance, so the store finds them on the instance and calls them with
 * the instance as `this`, like any driver method.
 */
export interface RangeDriverExtras {
  /**
   * Up to `limit` entries with key strictly greater than `afterKey` (or from
   * the start when null), in ascending key order. Lets `peek(n, afterId)` read
   * `WHERE key > ? ORDER BY key LIMIT n` instead of walking the queue.
   */
  readRange?(afterKey: string | null, limit: number): Promise<ReadonlyArray<readonly [string, unknown]>>;
  /**
   * Write several entries atomically: all are durable when it resolves, or
   * none is written when it rejects. Lets the store commit appends queued
   * in the same tick together (group commit: one fsync for the batch).
   */
  setItems?(entries: ReadonlyArray<readonly [string, unknown]>): Promise<void>;
  /**
   * Set `key` to `value` in this instance's table and remove `otherKey` from
   * the table of `other` — an instance of the same database on the same
   * driver — in one transaction: both land or neither does. Lets the store
   * write a ledger entry and remove the completed op with one commit (one
   * fsync) and no state in between.
   */
  setAndRemove?(key: string, value: unknown, other: RangeCapableForage, otherKey: string): Promise<void>;
  /**
   * `setAndRemove` for several pairs in one transaction: every entry set in
   * this instance's table and every key of `otherKeys` removed from
   * `other`'s — all land or none does. Lets the store complete the ops whose
   * ledger writes queued up behind a slow one with one commit.
   */
  setAllAndRemove?(entries: ReadonlyArray<readonly [string, unknown]>, other: RangeCapableForage, otherKeys: readonly string[]): Promise<void>;
  /** Release the instance's handle (file, connection). */
  closeInstance?(): Promise<void>;
}

/** A localforage instance whose driver may carry `RangeDriverExtras`. */
export type RangeCapableForage = LocalForage & RangeDriverExtras;

/** Compare storage keys by UTF-16 code units, as IndexedDB and SQLite (ASCII keys) do. */
export function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
