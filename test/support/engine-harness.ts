import * as t from 'io-ts';
import { BehaviorSubject, Subject, defer, of, throwError, type Observable, type SchedulerLike } from 'rxjs';
import type { BatchSender } from '../../streams/batch-port';
import type { AuthPort } from '../../streams/ports';
import type { Reconcile } from '../../streams/resolve-conflict';
import { createApiClient } from '../../src/api/api-client';
import { createEngineCore, type EngineDeps, type EngineCore } from '../../src/engine/engine-core';
import type { PowerConstraints } from '../../src/engine/platform-signals';
import type { EngineEvent, EngineStatus, OpResult } from '../../src/engine/sync-engine';
import { AuthError } from '../../src/errors/sync-error';
import type { LockState, ProcessorLock } from '../../src/lock/processor-lock';
import { createStorageLock, type StorageLockOptions } from '../../src/lock/storage-lock';
import { DEFAULT_BACKOFF_POLICY, type BackoffPolicy } from '../../src/policy/backoff';
import { defineRoutes } from '../../src/router/op-router';
import { MemoryStoreData, MemoryStorePort, type MemoryStorePortOptions } from './memory-store-port';
import { ScriptedTransport } from './scripted-transport';

/** Routes used by the engine tests: `todo.create` (POST /todos) and `todo.update` (PATCH /todos/:id). */
export const testRoutes = defineRoutes({
  'todo.create': {
    method: 'POST',
    path: '/todos',
    payload: t.type({ id: t.string, title: t.string }),
    response: t.unknown,
  },
  'todo.update': {
    method: 'PATCH',
    path: '/todos/:id',
    payload: t.type({ id: t.string, title: t.string }),
    response: t.type({ id: t.string }),
  },
});

/** The same routes keyed by the todo's id (`orderKey`): create and update of one todo share a key. */
export const keyedTestRoutes = defineRoutes({
  'todo.create': { ...testRoutes.routes['todo.create'], orderKey: (p: { id: string }) => p.id },
  'todo.update': { ...testRoutes.routes['todo.update'], orderKey: (p: { id: string }) => p.id },
});

export const TEST_BASE_URL = 'https://api.test';

/**
 * A synchronous, scriptable `AuthPort`: `token()` returns `current`
 * (null = signed out), `refresh()` answers from `refreshes` in order (a
 * string becomes the new token, an Error fails the refresh) and emits
 * `refreshed$`.
 */
export class FakeAuth implements AuthPort {
  current: string | null;
  readonly refreshes: Array<string | Error> = [];
  refreshCalls = 0;
  readonly #refreshed = new Subject<void>();
  readonly refreshed$ = this.#refreshed.asObservable();

  constructor(initial: string | null = 'token-1') {
    this.current = initial;
  }

  token(): Observable<string | null> {
    return defer(() => of(this.current));
  }

  refresh(): Observable<string> {
    return defer(() => {
      this.refreshCalls += 1;
      const next = this.refreshes.shift() ?? new AuthError({ code: 'refresh_failed' });
      if (next instanceof Error) return throwError(() => next);
      this.current = next;
      this.#refreshed.next();
      return of(next);
    });
  }
}

/** A lock the test flips by hand (`grant`, `revoke`), counting hold/release calls. */
export class ManualLock implements ProcessorLock {
  readonly state$ = new Subject<LockState>();
  holds = 0;
  releases = 0;
  held = false;

  hold(): Observable<LockState> {
    this.holds += 1;
    return this.state$;
  }

  release(): Observable<boolean> {
    return defer(() => {
      this.releases += 1;
      const was = this.held;
      this.held = false;
      return of(was);
    });
  }

  grant(fencingToken = 1, takeover = false): void {
    this.held = true;
    this.state$.next({ held: true, fencingToken, takeover });
  }

  revoke(): void {
    this.held = false;
    this.state$.next({ held: false, lost: true });
  }
}

export interface HarnessOptions {
  readonly backoff?: Partial<BackoffPolicy>;
  readonly requestTimeoutMs?: number;
  readonly reconcile?: Reconcile;
  /** A storage lock on the memory store (default) or a manual lock. */
  readonly lock?: 'storage' | 'manual';
  readonly lockOptions?: StorageLockOptions;
  /** The engine's wall clock (event stamps, stored times, the lock record's stamp; may jump). Default `scheduler.now()`; timers stay on `scheduler`. */
  readonly now?: () => number;
  readonly data?: MemoryStoreData;
  readonly batchSize?: number;
  readonly random?: () => number;
  readonly powerSavingBackoffFactor?: number;
  readonly storeLatencyMs?: MemoryStorePortOptions['latencyMs'];
  /** Default 0 (no idle polling) so virtual-time scenarios count reads exactly. */
  readonly idlePollMs?: number;
  /** Wakes between engines on one storage (e.g. a `MemoryWakeBus` port). */
  readonly wake?: EngineDeps['wake'];
  /** The channel to the other engines on the storage (e.g. a `MemoryCrossTabBus` port). */
  readonly crossTab?: EngineDeps['crossTab'];
  /** The server's push channel (`eventSourceWake` over a fake `EventSource`). */
  readonly serverWake?: EngineDeps['serverWake'];
  readonly rateLimiter?: EngineDeps['rateLimiter'];
  readonly requestHeaders?: EngineDeps['requestHeaders'];
  /** The signed-in account (accounts in use); default none. */
  readonly account$?: EngineDeps['account$'];
  /** Requests at once (default 1: strict FIFO); with it the routes are `keyedTestRoutes`. */
  readonly concurrency?: number;
  /** Batching; `sendBatch` of the API comes from `batchApi`. */
  readonly batch?: EngineDeps['batch'];
  readonly batchApi?: BatchSender;
  /** Replaces the synchronous `FakeAuth` (e.g. a real token manager's port); `h.auth` is then unused. */
  readonly auth?: AuthPort;
  /** The check before each attempt (the engine's fence); default none. */
  readonly admit?: EngineDeps['admit'];
}

/** An engine core on in-memory doubles, everything on `scheduler` (virtual time). */
export class EngineHarness {
  readonly store: MemoryStorePort;
  readonly server: ScriptedTransport;
  readonly auth = new FakeAuth();
  readonly online$ = new BehaviorSubject<boolean>(true);
  readonly constraints$ = new BehaviorSubject<PowerConstraints>({ powerSaving: false, visible: true });
  readonly lock: ProcessorLock;
  readonly manualLock?: ManualLock;
  readonly engine: EngineCore;
  readonly events: EngineEvent[] = [];
  readonly results: OpResult[] = [];
  readonly statuses: EngineStatus[] = [];
  readonly deps: EngineDeps;

  constructor(readonly scheduler: SchedulerLike, options: HarnessOptions = {}) {
    const now = options.now ?? (() => scheduler.now());
    this.store = new MemoryStorePort({ scheduler, latencyMs: options.storeLatencyMs, now }, options.data);
    this.server = new ScriptedTransport(scheduler);
    if (options.lock === 'manual') {
      this.manualLock = new ManualLock();
      this.lock = this.manualLock;
    } else {
      this.lock = createStorageLock(this.store, { heartbeatMs: 1000, staleAfterMs: 3000, settleMs: 50, ...options.lockOptions, scheduler, now });
    }
    // A crash kills every subscription but never gets to release the lock.
    const inner = this.lock;
    this.lock = {
      hold: () => inner.hold(),
      release: () => (this.#crashed ? of(false) : inner.release()),
    };
    const api = createApiClient({
      baseUrl: TEST_BASE_URL,
      transport: this.server.transport,
      requestTimeoutMs: options.requestTimeoutMs ?? 5000,
      scheduler,
      now,
    });
    const keyed = options.concurrency !== undefined || options.batch !== undefined;
    this.deps = {
      store: this.store,
      api: options.batchApi === undefined ? api : Object.assign(Object.create(api) as typeof api, { sendBatch: options.batchApi.sendBatch.bind(options.batchApi) }),
      auth: options.auth ?? this.auth,
      router: keyed ? keyedTestRoutes : testRoutes,
      concurrency: options.concurrency,
      batch: options.batch,
      admit: options.admit,
      lock: this.lock,
      online$: this.online$,
      constraints$: this.constraints$,
      account$: options.account$,
      scheduler,
      now,
      random: options.random ?? (() => 0.5),
      backoff: { ...DEFAULT_BACKOFF_POLICY, ...options.backoff },
      batchSize: options.batchSize ?? 20,
      powerSavingBackoffFactor: options.powerSavingBackoffFactor ?? 4,
      storageRetryMs: 1000,
      idlePollMs: options.idlePollMs ?? 0,
      wake: options.wake,
      crossTab: options.crossTab,
      serverWake: options.serverWake,
      reconcile: options.reconcile,
      rateLimiter: options.rateLimiter,
      requestHeaders: options.requestHeaders,
    };
    this.engine = createEngineCore(this.deps);
    this.engine.events$.subscribe((e) => this.events.push(e));
    this.engine.results$.subscribe((r) => this.results.push(r));
    this.engine.status$.subscribe((s) => this.statuses.push(s));
  }

  #crashed = false;

  /** Die without cleanup: subscriptions end, the in-flight request is dropped, the lock record stays. */
  crash(): void {
    this.#crashed = true;
    void this.engine.dispose();
  }

  /** Run `fn` at virtual time `ms`. */
  at(ms: number, fn: () => void): void {
    this.scheduler.schedule(fn, ms - this.scheduler.now());
  }

  /** Enqueue a todo.create with this id (synchronous with the memory store). */
  enqueue(id: string, title = `title ${id}`): void {
    void this.engine.enqueue({ type: 'todo.create', payload: { id, title }, txToken: `tx-${id}` });
  }

  get status(): EngineStatus {
    return this.statuses[this.statuses.length - 1]!;
  }

  /** Event types in order (optionally only some). */
  eventTypes(...only: Array<EngineEvent['type']>): string[] {
    return this.events.filter((e) => only.length === 0 || only.includes(e.type)).map((e) => e.type);
  }

  /** Request ids (`id` of the JSON body) in send order. */
  sentIds(): string[] {
    return this.server.requests.map((r) => (JSON.parse(r.request.body ?? '{}') as { id?: string }).id ?? '?');
  }
}
