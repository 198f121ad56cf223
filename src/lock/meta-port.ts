import type { Observable } from 'rxjs';

/**
 * The two metadata calls the storage lock needs: cold Observables that emit
 * once and complete (or error with a `StorageError`). The streams' store
 * port (`StorePort`) is one; so is any store wrapped for virtual time.
 *
 * @example
 * const lock = createStorageLock(meta, { heartbeatMs: 1000 });
 */
export interface MetaPort {
  readMeta<T>(key: string): Observable<T | undefined>;
  writeMeta<T>(key: string, value: T): Observable<void>;
}
