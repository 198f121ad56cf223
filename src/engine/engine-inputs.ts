import { EMPTY, Subscription, distinctUntilChanged, switchMap, type Observable } from 'rxjs';
import type { EngineDeps } from './engine-deps';
import type { StatusAction } from './status-reducer';
import type { EngineEvent } from './sync-engine';

/** Where the engine's inputs report: the status fold and `events$`. */
export interface InputSinks {
  readonly dispatch: (action: StatusAction) => void;
  readonly emit: (event: EngineEvent) => void;
  /** Called for every change on the store's feed (a counts read that raced one is dropped). */
  readonly changeSeen: () => void;
}

/**
 * Fold the platform signals and the store's change feed into the status;
 * pass on what events need (`enqueued`, a quarantined record's `failed`,
 * `tokenRefreshed`), and tell the lock holder in another tab of appends.
 *
 * @example
 * subs.add(watchInputs(deps, { dispatch, emit, changeSeen: () => seq++ }));
 */
export function watchInputs(deps: EngineDeps, sinks: InputSinks): Subscription {
  const { dispatch, emit } = sinks;
  const subs = new Subscription();
  subs.add(deps.online$.pipe(distinctUntilChanged()).subscribe((online) => dispatch({ type: 'online', online })));
  subs.add(
    deps.constraints$.subscribe((c) => dispatch({ type: 'constraints', powerSaving: c.powerSaving ?? false, visible: c.visible ?? true })),
  );
  subs.add(
    deps.store.changes$.subscribe((change) => {
      sinks.changeSeen();
      dispatch({ type: 'change', change: change.type });
      // Emitted here (not after `append` resolves) so `enqueued` always
      // precedes the op's first attempt, even with a synchronous store.
      if (change.type === 'appended') emit({ type: 'enqueued', at: deps.now(), op: change.op });
      // Whoever holds the lock (another tab) is not on this feed: tell it.
      if (change.type === 'appended' || change.type === 'retried') deps.wake?.post();
      // Records the store quarantined while reading (corrupt at the head).
      if (change.type === 'failed' && change.record.reason === 'corrupt') emit({ type: 'failed', at: deps.now(), record: change.record });
    }),
  );
  subs.add(deps.auth.refreshed$.subscribe(() => emit({ type: 'tokenRefreshed', at: deps.now() })));
  return subs;
}

/**
 * Contend for the lock while `started$` is true; report what happens to it
 * (a damaged lock record as `lockError` and `lastError`, not only
 * `lockNotHeld`).
 *
 * @example
 * subs.add(contendForLock(started$, deps, { dispatch, emit }));
 */
export function contendForLock(
  started$: Observable<boolean>,
  deps: Pick<EngineDeps, 'lock' | 'now'>,
  sinks: Pick<InputSinks, 'dispatch' | 'emit'>,
): Subscription {
  const { dispatch, emit } = sinks;
  return started$
    .pipe(
      distinctUntilChanged(),
      switchMap((started) => (started ? deps.lock.hold() : EMPTY)),
    )
    .subscribe((lock) => {
      if (lock.held) {
        emit({ type: 'lockAcquired', at: deps.now(), fencingToken: lock.fencingToken, takeover: lock.takeover });
        dispatch({ type: 'lock', held: true });
        return;
      }
      if (lock.error !== undefined) {
        emit({ type: 'lockError', at: deps.now(), error: lock.error });
        dispatch({ type: 'error', error: lock.error });
      }
      if (lock.lost) emit({ type: 'lockLost', at: deps.now() });
      dispatch({ type: 'lock', held: false });
    });
}

/**
 * While `started$` is true, the server's push channel (`serverWake`)
 * announcing it is ready calls `syncNow`.
 *
 * @example
 * subs.add(followServerWake(started$, deps.serverWake, () => engine.syncNow()));
 */
export function followServerWake(started$: Observable<boolean>, serverWake: EngineDeps['serverWake'], syncNow: () => void): Subscription {
  if (serverWake === undefined) return Subscription.EMPTY;
  return started$
    .pipe(
      distinctUntilChanged(),
      switchMap((started) => (started ? serverWake.ready$ : EMPTY)),
    )
    .subscribe(() => syncNow());
}
