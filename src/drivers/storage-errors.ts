import { StorageError } from '../errors/sync-error';

/**
 * Map a driver failure to a typed `StorageError`, keeping the original as
 * `cause` (it never carries record contents: drivers report keys at most).
 * Quota: DOMException `QuotaExceededError` (IndexedDB, legacy code 22, and
 * Firefox's `NS_ERROR_DOM_QUOTA_REACHED`) and SQLite `SQLITE_FULL`; busy:
 * SQLite `SQLITE_BUSY`/`SQLITE_LOCKED`.
 */
export function toStorageError(err: unknown): StorageError {
  if (err instanceof StorageError) return err;
  const e = err as { name?: unknown; code?: unknown } | null;
  const name = typeof e?.name === 'string' ? e.name : '';
  const code = e?.code;
  if (
    name === 'QuotaExceededError' ||
    name === 'NS_ERROR_DOM_QUOTA_REACHED' ||
    code === 22 ||
    code === 'SQLITE_FULL' ||
    code === 'ENOSPC'
  ) {
    return new StorageError('quota', { cause: err });
  }
  // SQLite's lock held by another connection past every retry.
  if (isSqliteBusy(err)) return new StorageError('busy', { cause: err });
  return new StorageError('unavailable', { cause: err });
}

/** SQLITE_BUSY or SQLITE_LOCKED, extended codes included: the lock is someone else's; retrying may succeed. */
export function isSqliteBusy(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^SQLITE_(BUSY|LOCKED)(_|$)/.test(code);
}
