import type { Observable } from 'rxjs';
import type { MetaPort } from '../src/lock/meta-port';
import type { OpStore } from '../src/store/op-store';

/**
 * `S` with every Promise-returning method returning a cold Observable of
 * the same value instead (same name, same parameters, optional where it
 * is); other members as is.
 */
type Observed<S> = {
  [K in keyof S]: NonNullable<S[K]> extends (...args: infer A) => Promise<infer R> ? (...args: A) => Observable<R> : S[K];
};

/**
 * The store as the streams see it: the `OpStore` contract (written once, in
 * `src/store/op-store.ts`) with every call returning a cold Observable that
 * emits once and completes (or errors with a `StorageError`); `close` stays
 * with the engine. Promises do not run in virtual time; Observables do, so
 * marble tests hand the streams a synchronous in-memory port and production
 * wraps the real store with `storePortFromOpStore` (`defer(() => from(...))`).
 *
 * @example
 * const port: StorePort = storePortFromOpStore(await createOpStore({ name: 'app' }));
 * port.peek(20).subscribe((ops) => console.log(ops.length));
 */
// A mapped type cannot carry a method's own type parameter, so the two
// generic meta calls come from `MetaPort` (same contract as `OpStore.readMeta`/`writeMeta`).
export interface StorePort extends Observed<Omit<OpStore, 'close' | 'readMeta' | 'writeMeta'>>, MetaPort {
  /** Remove a dead-letter record (`OpStore.failed.discard`; used by the `drop` conflict resolution). */
  discardFailed(id: string): Observable<void>;
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
  /**
   * True when there are no credentials at all (`createSyncEngine` without
   * `auth`): a null token then means "send without `Authorization`", not
   * "signed out", and `refresh` fails, so a 401 puts the engine in
   * `authRequired` with that failure as the reason.
   */
  readonly anonymous?: boolean;
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
