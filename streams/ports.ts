import type { Observable } from 'rxjs';
import type { OpId, PendingOp } from '../src/op/pending-op';
import type { MetaPort } from '../src/lock/meta-port';
import type { FailedOps, FailureInfo, StoreChange, StoreCounts } from '../src/store/op-store';

/**
 * The store as the streams see it: the `OpStore` contract with every call
 * returning a cold Observable that emits once and completes (or errors with
 * a `StorageError`). Promises do not run in virtual time; Observables do, so
 * marble tests hand the streams a synchronous in-memory port and production
 * wraps the real store with `storePortFromOpStore` (`defer(() => from(...))`).
 *
 * @example
 * const port: StorePort = storePortFromOpStore(await createOpStore({ name: 'app' }));
 * port.peek(20).subscribe((ops) => console.log(ops.length));
 */
export interface StorePort extends MetaPort {
  append(op: PendingOp): Observable<void>;
  peek(n: number, afterId?: OpId): Observable<readonly PendingOp[]>;
  update(op: PendingOp): Observable<void>;
  complete(op: PendingOp, completedAt: number): Observable<void>;
  fail(op: PendingOp, failure: FailureInfo): Observable<void>;
  /** Remove a dead-letter record (used by the `drop` conflict resolution). */
  discardFailed(id: string): Observable<void>;
  isCompleted(idempotencyKey: string): Observable<boolean>;
  /** `OpStore.completesAtomically`: when true, no pending op is in the ledger (the check before a send is skipped). */
  readonly completesAtomically?: boolean;
  counts(): Observable<StoreCounts>;
  /** Every durable change, hot, never errors. */
  readonly changes$: Observable<StoreChange>;
  /** The app-facing dead-letter API (Promise-based, passed through). */
  readonly failed: FailedOps;
}

/** The two metadata calls the storage lock needs (defined beside the lock). */
export type { MetaPort };

/**
 * Access tokens as the streams see them. `token()` emits the current token
 * (null when signed out) and completes; `refresh(rejected)` emits a new token
 * or errors (the engine then waits in `authRequired`). `refreshed$` emits
 * after every successful refresh, proactive or not.
 *
 * @example
 * const auth: AuthPort = authPortFromTokenManager(createTokenManager({ getToken, refreshToken }));
 */
export interface AuthPort {
  token(): Observable<string | null>;
  refresh(rejected: string | null): Observable<string>;
  readonly refreshed$: Observable<void>;
  /**
   * Drop whatever is held for the user signed in so far (a refresh in
   * flight, a refreshed token): called when the account changes, before
   * any token is asked for the next one.
   */
  forget?(): void;
}
