import {
  BehaviorSubject,
  EMPTY,
  Subject,
  Subscription,
  concat,
  defaultIfEmpty,
  distinctUntilChanged,
  finalize,
  from,
  ignoreElements,
  interval,
  lastValueFrom,
  merge,
  map,
  retry,
  switchMap,
  tap,
  timer,
  type Observable,
} from 'rxjs';
import type { ProcessOutcome } from '../../streams/outcome';
import { createSettleLane, type SettleLane } from '../../streams/settle-lane';
import { AuthError, SyncError, ValidationError } from '../errors/sync-error';
import { createOpId } from '../op/ids';
import type { OpId, PendingOp } from '../op/pending-op';
import type { StoreChange } from '../store/op-store';
import type { EngineDeps } from './engine-deps';
import { withBulkActions, type EngineFailedOps } from './engine-failed-ops';
import { newPendingOp } from './new-pending-op';
import { createOpCanceller, type OpCanceller } from './op-canceller';
import { pageQueue } from './page-queue';
import { fanOutOutcome, type OutcomeSinks } from './outcome-fan-out';
import { createStatusFold, type StatusFold } from './status-fold';
import {
  INITIAL_STATUS_STATE,
  gateReasons,
  reduceStatus,
  sameGateInputs,
  sameReasons,
  sameStatus,
  toEngineStatus,
  type StatusAction,
  type StatusState,
} from './status-reducer';
import type { DiscardAccountOptions, EngineCore, EngineEvent, EngineStatus, EnqueueInput, OpResult } from './sync-engine';
import { cleanCounts$ } from './clean-counts';
import { owedNow, settledThrough$, untilIdle, type WhenIdleOptions } from './when-idle';
import { discardAccountOps, discardRefusal } from './discard-account';
import { followAccount } from './follow-account';
import { engineDrain } from './engine-drain';
import { contendForLock, followServerWake, watchInputs } from './engine-inputs';
import { createCrossTabTruth, type CrossTabTruth } from './cross-tab-truth';
import { forwardCancel, serveCancels } from './cross-tab-cancel';

export type { EngineDeps } from './engine-deps';

export type { EngineCore } from './sync-engine';

/**
 * Wire the pipeline from its ports: status$ folded from tagged actions,
 * lock contention while started, the gate (`online && lockHeld &&
 * !authRequired && started && !paused`) switching the FIFO drain on and off.
 * `createSyncEngine` builds the ports from the app's options; tests build
 * them from in-memory doubles and run everything in virtual time.
 *
 * @example
 * const engine = createEngineCore({ store, api, auth, router, lock, online$: of(true), constraints$: of({}), ... });
 * engine.start();
 */
export function createEngineCore(deps: EngineDeps): EngineCore {
  return new Core(deps);
}

class Core implements EngineCore {
  readonly #deps: EngineDeps;
  readonly #state: StatusFold<StatusState, StatusAction> = createStatusFold(INITIAL_STATUS_STATE, reduceStatus);
  readonly #events = new Subject<EngineEvent>();
  readonly #results = new Subject<OpResult>();
  /** Where ops leave the queue, in FIFO order (commits written while the next op is sent). */
  readonly #lane: SettleLane;
  readonly #started = new BehaviorSubject<boolean>(false);
  /** `syncNow()`: ends the client's own waits, wakes an idle drain. */
  readonly #syncNow = new Subject<void>();
  /** Emits once `dispose()` starts: pending `whenIdle` calls reject. */
  readonly #closing = new Subject<never>();
  readonly #canceller: OpCanceller;
  /** Appends not yet durable (`whenIdle` waits for them). */
  readonly #appends = new Set<Promise<unknown>>();
  /** The account signed in (`account$`); null: none, or accounts not in use. */
  readonly #account = new BehaviorSubject<string | null>(null);
  readonly #subs = new Subscription();
  /** dispose() was called: enqueue and start are refused. */
  #closed = false;
  /** dispose() finished: nothing is emitted any more. */
  #disposed = false;
  #disposing: Promise<void> | undefined;
  /** Changes seen on the store's feed, to tell whether a counts read raced one. */
  #changeSeq = 0;
  /** Other engines on the store (`crossTab`): their changes and results, and the store's word on lost ones. */
  readonly #truth: CrossTabTruth | undefined;
  readonly #remoteChanges = new Subject<StoreChange>();

  readonly status$: Observable<EngineStatus>;
  readonly results$: Observable<OpResult> = this.#results.asObservable();
  readonly events$: Observable<EngineEvent> = this.#events.asObservable();
  readonly changes$: Observable<StoreChange>;
  readonly account$: Observable<string | null> = this.#account.asObservable();
  readonly failedOps: EngineFailedOps;

  constructor(deps: EngineDeps) {
    this.#deps = deps;
    const { store, scheduler } = deps;
    this.#lane = createSettleLane(deps.commitScheduler ?? scheduler);
    this.#canceller = createOpCanceller({
      store,
      lane: this.#lane,
      now: deps.now,
      report: (o) => this.#report(o),
      lockHeld: () => this.#state.value.lockHeld,
    });
    this.changes$ = deps.crossTab === undefined ? store.changes$ : merge(store.changes$, this.#remoteChanges);
    this.failedOps = withBulkActions(store.failed);
    this.status$ = this.#state.state$.pipe(map(toEngineStatus), distinctUntilChanged(sameStatus));
    const sinks = { dispatch: (a: StatusAction) => this.#dispatch(a), emit: (e: EngineEvent) => this.#emit(e) };
    this.#subs.add(watchInputs(deps, { ...sinks, changeSeen: () => (this.#changeSeq += 1) }));
    if (deps.account$ !== undefined) {
      this.#subs.add(
        followAccount(deps.account$, {
          status: (a) => this.#dispatch(a),
          account: (id) => this.#account.next(id),
          forget: () => deps.auth.forget?.(),
          authRequired: () => this.#state.value.authRequired,
        }),
      );
    }
    this.#truth = this.#followOtherEngines();
    this.#refreshCounts();
    this.#subs.add(contendForLock(this.#started, deps, sinks));
    this.#subs.add(followServerWake(this.#started, deps.serverWake, () => this.syncNow()));
    this.#runGate();
  }




  /**
   * Every engine on the store learns every op's appends and outcomes
   * (`cross-tab-truth.ts`); a `cancel` another engine forwards is answered
   * here while this engine holds the lock.
   */
  #followOtherEngines(): CrossTabTruth | undefined {
    const deps = this.#deps;
    const port = deps.crossTab;
    if (port === undefined) return undefined;
    const truth = createCrossTabTruth({
      port,
      store: deps.store,
      scheduler: deps.scheduler,
      auditEveryMs: deps.idlePollMs,
      pageSize: deps.batchSize,
      change: (change) => {
        if (this.#disposed) return;
        this.#changeSeq += 1;
        this.#dispatch({ type: 'change', change: change.type });
        this.#remoteChanges.next(change);
      },
      result: (result) => {
        if (!this.#disposed) this.#results.next(result);
      },
      audited: () => this.#refreshCounts(),
      peerSending: (opId) => {
        if (!this.#disposed) this.#dispatch({ type: 'peerSending', opId });
      },
    });
    this.#subs.add(serveCancels(this.#cancelRelay(port)));
    return truth;
  }

  #cancelRelay(port: NonNullable<EngineDeps['crossTab']>): Parameters<typeof serveCancels>[0] {
    return {
      port,
      scheduler: this.#deps.scheduler,
      lockHeld$: this.#state.state$.pipe(map((s) => s.lockHeld)),
      lockHeld: () => this.#state.value.lockHeld,
      cancelHere: (opId) => this.#canceller.cancel(opId),
      newId: createOpId,
    };
  }

  /**
   * The gate: the drain runs only while nothing blocks it; closing the gate
   * unsubscribes the drain, which aborts the request in flight.
   */
  #runGate(): void {
    const deps = this.#deps;
    // One drain per signed-in account: a change ends the previous one.
    const drain$ = this.#account.pipe(switchMap((account) => this.#drain(account).pipe(finalize(() => this.#dispatch({ type: 'idle' })))));
    this.#subs.add(
      this.#state.state$
        .pipe(
          // Only the gate's inputs matter here, not the per-op fields.
          distinctUntilChanged(sameGateInputs),
          map(gateReasons),
          distinctUntilChanged(sameReasons),
          tap((blockedBy) => this.#emit({ type: 'gate', at: deps.now(), open: blockedBy.length === 0, blockedBy })),
          map((blockedBy) => blockedBy.length === 0),
          distinctUntilChanged(),
          switchMap((open) => (open ? drain$.pipe(finalize(() => this.#drainStopped())) : EMPTY)),
          // Defensive: the drain is built never to error; if a bug makes it,
          // report and restart rather than die.
          retry({
            delay: (err: unknown) => {
              this.#dispatch({ type: 'error', error: err instanceof SyncError ? err.toInfo() : { kind: 'storage' } });
              return timer(deps.storageRetryMs, deps.scheduler);
            },
          }),
        )
        .subscribe(),
    );
  }

  #drainStopped(): void {
    this.#truth?.ownDrainStopped();
    this.#canceller.reset();
    this.#dispatch({ type: 'idle' });
  }

  /** Fan an outcome out (events, results, status); then the canceller sees the op settle. */
  #report(o: ProcessOutcome): void {
    // The other tabs show this engine's attempt in flight meanwhile.
    if (o.type === 'attemptStarted') this.#truth?.ownAttempt(o.op.id, 'started');
    else if (o.type === 'attemptSucceeded') this.#truth?.ownAttempt(o.op.id, 'answered');
    else if (o.type === 'attemptFailed') this.#truth?.ownAttempt(o.op.id, 'failed');
    fanOutOutcome(o, this.#sinks);
    this.#canceller.observe(o);
  }

  readonly #sinks: OutcomeSinks = {
    event: (e) => this.#emit(e),
    status: (a) => this.#dispatch(a),
    result: (r) => {
      this.#results.next(r);
      this.#truth?.ownResult(r);
    },
  };

  /** The FIFO drain for the signed-in `account` (`engine-drain.ts`). */
  #drain(account: string | null): Observable<never> {
    return engineDrain(account, {
      deps: this.#deps,
      lane: this.#lane,
      canceller: this.#canceller,
      syncNow$: this.#syncNow,
      powerSaving: () => this.#state.value.powerSaving,
      report: (o) => this.#report(o),
      dispatch: (a) => this.#dispatch(a),
      refreshCounts: () => this.#refreshCounts(),
    });
  }


  enqueue(input: EnqueueInput): Promise<PendingOp> {
    const { router, store, now, payloadLimits } = this.#deps;
    let op: PendingOp;
    try {
      if (this.#closed) throw new ValidationError('invalidOptions', 'engine: disposed');
      const accountId = this.#account.value;
      // With accounts in use an op must have an owner: no one signed in, no write.
      if (this.#deps.account$ !== undefined && accountId === null) throw new AuthError({ code: 'signed_out' });
      op = newPendingOp(input, router, now(), payloadLimits, accountId ?? undefined);
    } catch (err) {
      return Promise.reject(err);
    }
    // Subscribes synchronously: with a synchronous store the op is durable
    // (and the drain woken) before this returns.
    const appended = lastValueFrom(store.append(op).pipe(defaultIfEmpty(undefined)));
    this.#appends.add(appended);
    const landed = (): void => void this.#appends.delete(appended);
    appended.then(landed, landed);
    return appended.then(() => op);
  }

  whenIdle(options: WhenIdleOptions = {}): Promise<void> {
    if (this.#closed) return Promise.reject(new ValidationError('invalidOptions', 'engine: disposed'));
    const { store, scheduler, idlePollMs } = this.#deps;
    // Later than every op id made in this realm so far (UUIDv7, monotonic):
    // the queue's FIFO key of "now".
    const boundary: OpId = createOpId();
    const settled$ = settledThrough$(boundary, {
      store,
      lane: this.#lane,
      // Own settlements and results; another holder's only by looking again.
      recheck$: merge(this.changes$, this.#results, idlePollMs > 0 ? interval(idlePollMs, scheduler) : EMPTY),
      // What the drain would send now: another account's ops wait for its sign-in.
      owed: (op) => owedNow(op, this.#account.value, this.#deps.account$ !== undefined),
    });
    const appends = [...this.#appends];
    const idle$ = appends.length === 0 ? settled$ : concat(from(Promise.allSettled(appends)).pipe(ignoreElements()), settled$);
    return untilIdle(idle$, options, scheduler, this.#closing);
  }

  syncNow(): void {
    if (!this.#closed) this.#syncNow.next();
  }

  cancel(opId: OpId): Promise<void> {
    if (this.#closed) return Promise.reject(new ValidationError('invalidOptions', 'engine: disposed'));
    const port = this.#deps.crossTab;
    // Only the holder knows what is in flight: ask it.
    if (!this.#state.value.lockHeld && port?.live === true) return forwardCancel(opId, this.#cancelRelay(port));
    return this.#canceller.cancel(opId);
  }

  start(): void {
    if (this.#closed || this.#started.value) return;
    this.#dispatch({ type: 'started', started: true });
    this.#started.next(true);
  }

  stop(): Promise<void> {
    const wasStarted = this.#started.value;
    // Close the gate first (aborts the request in flight), then stop contending.
    this.#dispatch({ type: 'started', started: false });
    this.#started.next(false);
    if (!wasStarted && !this.#state.value.lockHeld) return Promise.resolve();
    // Effects in `tap`, not in `.then`: with a synchronous port they happen
    // before `stop()` returns (virtual-time tests see them).
    // Commits still being written land (with their results) before another
    // holder may take the queue over.
    return lastValueFrom(
      concat(this.#lane.drained$, this.#deps.lock.release()).pipe(
        defaultIfEmpty(false),
        tap((released) => {
          this.#dispatch({ type: 'lock', held: false });
          if (released) this.#emit({ type: 'lockReleased', at: this.#deps.now() });
        }),
        map(() => undefined),
      ),
    );
  }

  discardAccount(accountId: string, options?: DiscardAccountOptions): Promise<number> {
    const refused = this.#closed ? new ValidationError('invalidOptions', 'engine: disposed') : discardRefusal(accountId, options, this.#account.value);
    if (refused !== undefined) return Promise.reject(refused);
    const { store, batchSize, now } = this.#deps;
    // Commits still being written land first; the drain never touches the
    // ops of an account that is not signed in.
    return lastValueFrom(concat(this.#lane.drained$, discardAccountOps(store, accountId, batchSize, now)));
  }

  resumeAuth(): void {
    if (this.#state.value.authRequired) this.#dispatch({ type: 'authRequired', required: false });
  }

  dispose(): Promise<void> {
    if (this.#disposing !== undefined) return this.#disposing;
    // Refuse new work at once, not only after the lock is released.
    this.#closed = true;
    this.#closing.error(new ValidationError('invalidOptions', 'engine: disposed'));
    this.#disposing = this.stop().then(() => {
      this.#disposed = true;
      this.#state.close();
      this.#subs.unsubscribe();
      this.#deps.wake?.close();
      this.#truth?.close();
      this.#events.complete();
      this.#results.complete();
    });
    return this.#disposing;
  }

  pendingOps(pageSize = this.#deps.batchSize): Observable<PendingOp> {
    return pageQueue(this.#deps.store, pageSize, this.#deps.commitScheduler ?? this.#deps.scheduler);
  }

  #dispatch(action: StatusAction): void {
    this.#state.dispatch(action);
  }

  #emit(event: EngineEvent): void {
    if (!this.#disposed) this.#events.next(event);
  }

  #refreshCounts(): void {
    this.#subs.add(
      cleanCounts$(this.#deps.store, () => this.#changeSeq).subscribe((counts) =>
        this.#dispatch({ type: 'counts', pending: counts.pending, failed: counts.failed }),
      ),
    );
  }
}
