import { StorageError } from '../errors/sync-error';

/**
 * Map a driver failure to a typed `StorageError`, keeping the original as
 * `cause` (it never carries record contents: drivers report keys at most).
 * Quota: DOMException `QuotaExceededError` (IndexedDB, legacy code 22, and
 * Firefox's `NS_ERROR_DOM_QUOTA_REACHED`) and SQLite `SQLITE_FULL`.
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
  return new StorageError('unavailable', { cause: err });
}
