import { catchError, map, of, throwError, type Observable } from 'rxjs';
import { StorageError, type ErrorInfo } from '../errors/sync-error';
import type { MetaPort } from './meta-port';

/** The lock record kept in the store's metadata. */
export interface LockRecord {
  readonly owner: string;
  readonly fencingToken: number;
  /** Last renewal by the owner, epoch ms (for people; staleness never compares it across processes). */
  readonly heartbeatAt: number;
  /**
   * Renewals of this claim so far. Every heartbeat changes it, so a live
   * holder's record changes even when its wall clock stands still or steps
   * back. Absent in records written before it existed.
   */
  readonly beat?: number;
  /** Set by a clean release: anyone may take the lock without waiting. */
  readonly released?: boolean;
}

/** The fencing high-water mark, kept apart from the lock record so a damaged lock record cannot lose it. */
export interface FenceRecord {
  readonly fencingToken: number;
}

/**
 * One read of a metadata record: absent, read, or there but unreadable (it
 * failed to decrypt or decode: `StorageError('corrupt')` from the store, or
 * a value of the wrong shape).
 */
export type MetaRead<A> =
  | { readonly kind: 'absent' }
  | { readonly kind: 'read'; readonly value: A }
  | { readonly kind: 'unreadable'; readonly error: ErrorInfo };

export const isLockRecord = (u: unknown): u is LockRecord =>
  typeof u === 'object' &&
  u !== null &&
  typeof (u as LockRecord).owner === 'string' &&
  Number.isInteger((u as LockRecord).fencingToken) &&
  typeof (u as LockRecord).heartbeatAt === 'number' &&
  ((u as LockRecord).beat === undefined || typeof (u as LockRecord).beat === 'number');

export const isFenceRecord = (u: unknown): u is FenceRecord =>
  typeof u === 'object' && u !== null && Number.isInteger((u as FenceRecord).fencingToken);

const CORRUPT: ErrorInfo = Object.freeze({ kind: 'storage', code: 'corrupt' });

/**
 * Read one metadata record as a `MetaRead`. A record that cannot be
 * decrypted or decoded is `unreadable` (never mistaken for absent); any
 * other storage failure errors as before (a missed heartbeat).
 *
 * @example
 * readMetaRecord(port, 'processorLock', isLockRecord).subscribe((r) => r.kind === 'unreadable' && report(r.error));
 */
export function readMetaRecord<A>(meta: MetaPort, key: string, guard: (u: unknown) => u is A): Observable<MetaRead<A>> {
  return meta.readMeta<unknown>(key).pipe(
    map((u): MetaRead<A> => (u === undefined ? { kind: 'absent' } : guard(u) ? { kind: 'read', value: u } : { kind: 'unreadable', error: CORRUPT })),
    catchError((err: unknown) =>
      err instanceof StorageError && err.reason === 'corrupt' ? of<MetaRead<A>>({ kind: 'unreadable', error: err.toInfo() }) : throwError(() => err),
    ),
  );
}

/**
 * What a contender compares between two looks at the lock: equal marks mean
 * the holder has not renewed in between. Every unreadable record has the
 * same mark (nothing readable changed).
 *
 * @example
 * lockMark({ kind: 'unreadable', error }) === lockMark({ kind: 'unreadable', error }); // true
 */
export function lockMark(r: MetaRead<LockRecord>): string {
  if (r.kind !== 'read') return r.kind;
  const v = r.value;
  return JSON.stringify([v.owner, v.fencingToken, v.heartbeatAt, v.beat ?? null, v.released === true]);
}
