// Meta keys: the store's own records live under `sys:`, the app's (lock
// record, counters) under `app:`, so `writeMeta` can never clobber the canary.

/** The encrypted canary that proves the key at open. */
export const CANARY_KEY = 'sys:canary';
/** The canary's plaintext. */
export const CANARY_TEXT = 'sync-engine canary v1';
/** The layout version record (`STORE_SCHEMA_VERSION`). */
export const SCHEMA_KEY = 'sys:schema';
/** Prefix of a dead-letter retry in flight (`RetryIntent`), followed by the failed record's id. */
export const RETRY_PREFIX = 'sys:retry:';
/** The meta key of the app's record `key`. */
export const appMetaKey = (key: string): string => `app:${key}`;
/** The quota reserve's ballast (`QuotaReserve`). */
export const RESERVE_KEY = 'sys:reserve';
