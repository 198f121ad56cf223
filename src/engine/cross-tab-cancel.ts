import { Observable, Subscription, concatMap, filter, from, lastValueFrom, map, merge, take, timer, type SchedulerLike } from 'rxjs';
import { StorageError, SyncError, TimeoutError, ValidationError, type StorageReason, type ValidationReason } from '../errors/sync-error';
import type { OpId } from '../op/pending-op';
import type { CancelRefusal, CrossTabPort } from './cross-tab-port';

/** How long a forwarded `cancel(opId)` waits for the lock holder's answer, ms. */
export const CROSS_TAB_CANCEL_TIMEOUT_MS = 5_000;

/** What the cancel relay needs of its engine. */
export interface CancelRelayDeps {
  readonly port: CrossTabPort;
  readonly scheduler: SchedulerLike;
  /** Whether this engine holds the processor lock (it alone may cancel). */
  readonly lockHeld$: Observable<boolean>;
  readonly lockHeld: () => boolean;
  /** This engine's own `cancel` (op-canceller): only called while holding the lock. */
  readonly cancelHere: (opId: OpId) => Promise<void>;
  /** A unique id per request. */
  readonly newId: () => string;
  readonly timeoutMs?: number;
}

/** The refusal as the message carries it (never a message text). */
function refusalOf(err: unknown): CancelRefusal {
  if (err instanceof ValidationError) return { name: 'ValidationError', reason: err.reason, info: err.toInfo() };
  if (err instanceof StorageError) return { name: 'StorageError', reason: err.reason, info: err.toInfo() };
  return { name: 'StorageError', reason: 'unavailable', ...(err instanceof SyncError ? { info: err.toInfo() } : {}) };
}

function errorOf(refusal: CancelRefusal): SyncError {
  return refusal.name === 'ValidationError'
    ? new ValidationError(refusal.reason as ValidationReason, 'cancel: refused by the lock holder')
    : new StorageError(refusal.reason as StorageReason);
}

/**
 * The lock holder's side: answer every `cancel` request another engine
 * forwards while this engine holds the lock (its own `cancel`, with every
 * rule of the op canceller: in flight → `opInFlight`, settled →
 * `unknownOp`). Not holding it: stay silent — the holder answers.
 *
 * @example
 * subs.add(serveCancels({ port, scheduler, lockHeld$, lockHeld, cancelHere: (id) => canceller.cancel(id), newId }));
 */
export function serveCancels(deps: CancelRelayDeps): Subscription {
  return deps.port.messages$.subscribe((m) => {
    if (m.kind !== 'cancel' || !deps.lockHeld()) return;
    const { requestId } = m;
    deps.cancelHere(m.opId).then(
      () => deps.port.post({ kind: 'cancelReply', requestId }),
      (err: unknown) => deps.port.post({ kind: 'cancelReply', requestId, error: refusalOf(err) }),
    );
  });
}

/**
 * `cancel(opId)` on an engine that does not hold the lock: ask the holder
 * over the port and settle with its answer — after its `cancelled` result
 * reached this engine (the holder posts the result before the answer). If
 * this engine acquires the lock before an answer comes (no one held it),
 * it cancels itself, under the canceller's rules: only a lock holder ever
 * removes an op, so a cancel never races the drain of a holder that took
 * the lock meanwhile. No answer within `timeoutMs`: `TimeoutError` (code
 * `cancel_timeout`) — the op may still be cancelled by a late holder;
 * `results$` says which.
 *
 * @example
 * await forwardCancel(opId, { port, scheduler, lockHeld$, lockHeld, cancelHere, newId });
 */
export function forwardCancel(opId: OpId, deps: CancelRelayDeps): Promise<void> {
  const requestId = deps.newId();
  const answer$ = deps.port.messages$.pipe(
    // A tab that lost the lock as the request came says so: the holder answers.
    filter((m) => m.kind === 'cancelReply' && m.requestId === requestId && m.error?.reason !== 'lockNotHeld'),
    map((m) => {
      const refusal = m.kind === 'cancelReply' ? m.error : undefined;
      if (refusal !== undefined) throw errorOf(refusal);
    }),
  );
  const ownLock$ = deps.lockHeld$.pipe(
    filter(Boolean),
    take(1),
    concatMap(() => from(deps.cancelHere(opId))),
  );
  const timeout$ = timer(deps.timeoutMs ?? CROSS_TAB_CANCEL_TIMEOUT_MS, deps.scheduler).pipe(
    map(() => {
      throw new TimeoutError({ code: 'cancel_timeout' });
    }),
  );
  const asked$ = new Observable<void>((subscriber) => {
    // Listen first: the answer may come back at once.
    const sub = merge(answer$, ownLock$, timeout$).pipe(take(1)).subscribe(subscriber);
    deps.port.post({ kind: 'cancel', requestId, opId });
    return sub;
  });
  return lastValueFrom(asked$);
}
