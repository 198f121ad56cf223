import {
  BehaviorSubject,
  EMPTY,
  Subject,
  Subscription,
  catchError,
  concat,
  concatMap,
  defer,
  defaultIfEmpty,
  distinctUntilChanged,
  expand,
  filter,
  finalize,
  from,
  interval,
  lastValueFrom,
  merge,
  map,
  repeat,
  retry,
  switchMap,
  takeWhile,
  tap,
  timer,
  type Observable,
  type SchedulerLike,
} from 'rxjs';
import { v4 as uuidv4 } from 'uuid';
import { drainQueue } from '../../streams/drain-queue';
import type { ProcessOutcome } from '../../streams/outcome';
import type { AuthPort, StorePort } from '../../streams/ports';
import { processOp, type ProcessContext } from '../../streams/process-op';
import type { Reconcile } from '../../streams/resolve-conflict';
import { createSettleLane, type SettleLane } from '../../streams/settle-lane';
import type { ApiClient } from '../api/api-client';
import { SyncError, ValidationError } from '../errors/sync-error';
import type { ProcessorLock } from '../lock/processor-lock';
import { createIdempotencyKey, createOpId, createTraceId } from '../op/ids';
import { PENDING_OP_SCHEMA_VERSION, type OpId, type PendingOp } from '../op/pending-op';
import type { BackoffPolicy } from '../policy/backoff';
import type { OpRouter } from '../router/op-router';
import { safePayloadCopy, type PayloadLimits } from '../security/payload-guard';
import type { RateLimiter } from '../security/rate-limiter';
import type { FailedOps, StoreChange } from '../store/op-store';
import { fanOutOutcome, type OutcomeSinks } from './outcome-fan-out';
import type { PowerConstraints } from './platform-signals';
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
import type { EngineEvent, EngineStatus, EnqueueInput, OpResult, SyncEngine } from './sync-engine';
import type { WakePort } from './wake-port';

/**
 * The engine returned by `createSyncEngine`: the `SyncEngine` contract plus
 * the controls only the app that owns the engine needs.
 */
export interface SyncEngineHandle extends SyncEngine {
  /**
   * Leave `authRequired` after the user signed in again (the app's
   * `getToken` now returns a valid token): the head op is tried again.
   * Idempotent; harmless when not in `authRequired`.
   */
  resumeAuth(): void;
  /** `stop()`, then drop every subscription (platform listeners included). The engine is unusable after. */
  dispose(): Promise<void>;
}

/** Everything the engine core is made of; all ports are Observable-based. */
export interface EngineDeps {
  readonly store: StorePort;
  readonly api: ApiClient;
  readonly auth: AuthPort;
  readonly router: OpRouter;
  readonly lock: ProcessorLock;
  readonly online$: Observable<boolean>;
  readonly constraints$: Observable<PowerConstraints>;
  readonly scheduler: SchedulerLike;
  /**
   * Where a committed op's ledger write and the read of the next batch
   * start: a task after the current one, so the next request goes out
   * first. Default `scheduler`; `createSyncEngine` uses `taskScheduler()`
   * unless given one.
   */
  readonly commitScheduler?: SchedulerLike;
  readonly now: () => number;
  readonly random: () => number;
  readonly backoff: BackoffPolicy;
  readonly batchSize: number;
  readonly powerSavingBackoffFactor: number;
  readonly storageRetryMs: number;
  /** Re-read an empty queue this often while processing (appends by other processes); 0 = never. */
  readonly idlePollMs: number;
  /** Wakes between engines on the same storage (e.g. tabs, `broadcastChannelWake`); closed by `dispose()`. */
  readonly wake?: WakePort;
  readonly reconcile?: Reconcile;
  readonly requestHeaders?: (op: PendingOp) => Readonly<Record<string, string>> | undefined;
  readonly rateLimiter?: RateLimiter;
  readonly payloadLimits?: PayloadLimits;
}

/** Counts reads tried before giving up until the next idle (each raced a change). */
const COUNTS_READ_TRIES = 5;


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
export function createEngineCore(deps: EngineDeps): SyncEngineHandle {
  return new EngineCore(deps);
}

class EngineCore implements SyncEngineHandle {
  readonly #deps: EngineDeps;
  readonly #state: StatusFold<StatusState, StatusAction> = createStatusFold(INITIAL_STATUS_STATE, reduceStatus);
  readonly #events = new Subject<EngineEvent>();
  readonly #results = new Subject<OpResult>();
  /** Where ops leave the queue, in FIFO order (commits written while the next op is sent). */
  readonly #lane: SettleLane;
  readonly #started = new BehaviorSubject<boolean>(false);
  readonly #subs = new Subscription();
  /** dispose() was called: enqueue and start are refused. */
  #closed = false;
  /** dispose() finished: nothing is emitted any more. */
  #disposed = false;
  #disposing: Promise<void> | undefined;
  /** Changes seen on the store's feed, to tell whether a counts read raced one. */
  #changeSeq = 0;

  readonly status$: Observable<EngineStatus>;
  readonly results$: Observable<OpResult> = this.#results.asObservable();
  readonly events$: Observable<EngineEvent> = this.#events.asObservable();
  readonly changes$: Observable<StoreChange>;
  readonly failedOps: FailedOps;

  constructor(deps: EngineDeps) {
    this.#deps = deps;
    const { store, scheduler } = deps;
    this.#lane = createSettleLane(deps.commitScheduler ?? scheduler);
    this.changes$ = store.changes$;
    this.failedOps = store.failed;
    this.status$ = this.#state.state$.pipe(map(toEngineStatus), distinctUntilChanged(sameStatus));

    this.#subs.add(
      deps.online$.pipe(distinctUntilChanged()).subscribe((online) => this.#dispatch({ type: 'online', online })),
    );
    this.#subs.add(
      deps.constraints$.subscribe((c) =>
        this.#dispatch({ type: 'constraints', powerSaving: c.powerSaving ?? false, visible: c.visible ?? true }),
      ),
    );
    this.#subs.add(
      store.changes$.subscribe((change) => {
        this.#changeSeq += 1;
        this.#dispatch({ type: 'change', change: change.type });
        // Emitted here (not after `append` resolves) so `enqueued` always
        // precedes the op's first attempt, even with a synchronous store.
        if (change.type === 'appended') this.#emit({ type: 'enqueued', at: deps.now(), op: change.op });
        // Whoever holds the lock (another tab) is not on this feed: tell it.
        if (change.type === 'appended' || change.type === 'retried') deps.wake?.post();
        // Records the store quarantined while reading (corrupt at the head).
        if (change.type === 'failed' && change.record.reason === 'corrupt') {
          this.#emit({ type: 'failed', at: deps.now(), record: change.record });
        }
      }),
    );
    this.#subs.add(deps.auth.refreshed$.subscribe(() => this.#emit({ type: 'tokenRefreshed', at: deps.now() })));
    this.#refreshCounts();

    // Contend for the lock while started.
    this.#subs.add(
      this.#started
        .pipe(
          distinctUntilChanged(),
          switchMap((started) => (started ? deps.lock.hold() : EMPTY)),
        )
        .subscribe((lock) => {
          if (lock.held) {
            this.#emit({ type: 'lockAcquired', at: deps.now(), fencingToken: lock.fencingToken, takeover: lock.takeover });
            this.#dispatch({ type: 'lock', held: true });
          } else {
            // A damaged lock record: say so (event and lastError) instead of
            // showing nothing but `lockNotHeld`.
            if (lock.error !== undefined) {
              this.#emit({ type: 'lockError', at: deps.now(), error: lock.error });
              this.#dispatch({ type: 'error', error: lock.error });
            }
            if (lock.lost) this.#emit({ type: 'lockLost', at: deps.now() });
            this.#dispatch({ type: 'lock', held: false });
          }
        }),
    );

    // The gate: the drain runs only while nothing blocks it; closing the
    // gate unsubscribes the drain, which aborts the request in flight.
    const sinks: OutcomeSinks = {
      event: (e) => this.#emit(e),
      status: (a) => this.#dispatch(a),
      result: (r) => this.#results.next(r),
    };
    const ctx: ProcessContext = {
      store,
      lane: this.#lane,
      api: deps.api,
      auth: deps.auth,
      router: deps.router,
      scheduler,
      now: deps.now,
      random: deps.random,
      backoff: deps.backoff,
      backoffFactor: () => (this.#state.value.powerSaving ? deps.powerSavingBackoffFactor : 1),
      reconcile: deps.reconcile,
      requestHeaders: deps.requestHeaders,
      rateLimiter: deps.rateLimiter,
      report: (o: ProcessOutcome) => fanOutOutcome(o, sinks),
    };
    const drain$ = drainQueue({
      store,
      batchSize: deps.batchSize,
      // Own appends wake the drain through the change feed. Another tab or
      // process appending to the same storage is not on this feed: its wake
      // port (same-origin tabs) says so at once, and in any case an idle
      // holder looks again every `idlePollMs`. Acquiring the lock opens the
      // gate, and the drain always reads the queue when it starts.
      wake$: merge(
        store.changes$.pipe(filter((c) => c.type === 'appended' || c.type === 'retried')),
        deps.wake?.wake$ ?? EMPTY,
        deps.idlePollMs > 0 ? interval(deps.idlePollMs, scheduler) : EMPTY,
      ),
      process: (op) => processOp(op, ctx),
      lane: this.#lane,
      readAheadScheduler: deps.commitScheduler,
      onIdle: () => {
        this.#dispatch({ type: 'idle' });
        this.#refreshCounts();
      },
      onError: (error) => this.#dispatch({ type: 'error', error }),
      retryMs: deps.storageRetryMs,
      scheduler,
    });
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
          switchMap((open) => (open ? drain$.pipe(finalize(() => this.#dispatch({ type: 'idle' }))) : EMPTY)),
          // Defensive: the drain is built never to error; if a bug makes it,
          // report and restart rather than die.
          retry({
            delay: (err: unknown) => {
              this.#dispatch({ type: 'error', error: err instanceof SyncError ? err.toInfo() : { kind: 'storage' } });
              return timer(deps.storageRetryMs, scheduler);
            },
          }),
        )
        .subscribe(),
    );
  }

  enqueue(input: EnqueueInput): Promise<PendingOp> {
    const { router, store, now } = this.#deps;
    let op: PendingOp;
    try {
      if (this.#closed) throw new ValidationError('invalidOptions', 'engine: disposed');
      if (typeof input !== 'object' || input === null) throw new ValidationError('unknownType', 'type: expected string');
      // Each field read once: a getter must not show the checks one value
      // and the store another.
      const { type, payload: given, txToken } = input;
      if (typeof type !== 'string') throw new ValidationError('unknownType', 'type: expected string');
      // Shape and size first (hostile input), on a plain copy; the route's
      // codec checks that copy, and that copy is what is stored and sent.
      const payload = safePayloadCopy(given, this.#deps.payloadLimits);
      router.validate(type, payload);
      op = {
        schemaVersion: PENDING_OP_SCHEMA_VERSION,
        id: createOpId(),
        type,
        payload,
        idempotencyKey: createIdempotencyKey(),
        traceId: createTraceId(),
        txToken: typeof txToken === 'string' && txToken !== '' ? txToken : uuidv4(),
        createdAt: now(),
        attempts: 0,
        nextAttemptAt: null,
        lastError: null,
      };
    } catch (err) {
      return Promise.reject(err);
    }
    // Subscribes synchronously: with a synchronous store the op is durable
    // (and the drain woken) before this returns.
    return lastValueFrom(store.append(op).pipe(defaultIfEmpty(undefined))).then(() => op);
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

  resumeAuth(): void {
    if (this.#state.value.authRequired) this.#dispatch({ type: 'authRequired', required: false });
  }

  dispose(): Promise<void> {
    if (this.#disposing !== undefined) return this.#disposing;
    // Refuse new work at once, not only after the lock is released.
    this.#closed = true;
    this.#disposing = this.stop().then(() => {
      this.#disposed = true;
      this.#state.close();
      this.#subs.unsubscribe();
      this.#deps.wake?.close();
      this.#events.complete();
      this.#results.complete();
    });
    return this.#disposing;
  }

  pendingOps(pageSize = this.#deps.batchSize): Observable<PendingOp> {
    const { store } = this.#deps;
    const size = Math.max(1, Math.floor(pageSize));
    const page = (after?: OpId) => store.peek(size, after);
    // Page by page with `afterId`: bounded memory however long the queue is.
    return page().pipe(
      expand((ops) => (ops.length < size ? EMPTY : page(ops[ops.length - 1]!.id))),
      concatMap((ops) => from(ops)),
    );
  }

  #dispatch(action: StatusAction): void {
    this.#state.dispatch(action);
  }

  #emit(event: EngineEvent): void {
    if (!this.#disposed) this.#events.next(event);
  }

  #refreshCounts(): void {
    // A change that lands while a counts read is in flight may or may not be
    // in its answer, so such a read is ambiguous: read again (a few times at
    // most; the change feed keeps the counts exact in between).
    const read = defer(() => {
      const seq = this.#changeSeq;
      return this.#deps.store.counts().pipe(map((counts) => ({ counts, clean: seq === this.#changeSeq })));
    });
    this.#subs.add(
      read
        .pipe(
          repeat(COUNTS_READ_TRIES),
          takeWhile((r) => !r.clean, true),
          filter((r) => r.clean),
          catchError(() => EMPTY),
        )
        .subscribe(({ counts }) => this.#dispatch({ type: 'counts', pending: counts.pending, failed: counts.failed })),
    );
  }
}
