import type { Observable, SchedulerLike } from 'rxjs';
import type { AuthPort, StorePort } from '../../streams/ports';
import type { Reconcile } from '../../streams/resolve-conflict';
import type { ApiClient } from '../api/api-client';
import type { ProcessorLock } from '../lock/processor-lock';
import type { PendingOp } from '../op/pending-op';
import type { BackoffPolicy } from '../policy/backoff';
import type { OpRouter } from '../router/op-router';
import type { PayloadLimits } from '../security/payload-guard';
import type { RateLimiter } from '../security/rate-limiter';
import type { PowerConstraints } from './platform-signals';
import type { ServerWake } from '../wake/server-wake';
import type { WakePort } from './wake-port';
import type { CrossTabPort } from './cross-tab-port';

/** Everything the engine core is made of; all ports are Observable-based. */
export interface EngineDeps {
  readonly store: StorePort;
  readonly api: ApiClient;
  readonly auth: AuthPort;
  readonly router: OpRouter;
  readonly lock: ProcessorLock;
  readonly online$: Observable<boolean>;
  readonly constraints$: Observable<PowerConstraints>;
  /** The signed-in account (null: none); absent: accounts not in use. See `SyncEngineOptions.account$`. */
  readonly account$?: Observable<string | null>;
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
  /** Requests on the wire at once (default 1: strict FIFO, the plain drain). */
  readonly concurrency?: number;
  /** Batching through the server's batch endpoint (default: off). */
  readonly batch?: { readonly path: string; readonly maxOps: number; readonly maxBytes: number };
  readonly powerSavingBackoffFactor: number;
  readonly storageRetryMs: number;
  /** Re-read an empty queue this often while processing (appends by other processes); 0 = never. */
  readonly idlePollMs: number;
  /** Wakes between engines on the same storage (e.g. tabs, `broadcastChannelWake`); closed by `dispose()`. */
  readonly wake?: WakePort;
  /**
   * The channel to the other engines on the same store (tabs): their
   * changes and results are published here, this engine's posted there,
   * `cancel` forwarded to the lock holder; closed by `dispose()`.
   */
  readonly crossTab?: CrossTabPort;
  /** The server's push channel: while started, each `ready$` value is a `syncNow()`. */
  readonly serverWake?: ServerWake;
  readonly reconcile?: Reconcile;
  readonly requestHeaders?: (op: PendingOp) => Readonly<Record<string, string>> | undefined;
  readonly rateLimiter?: RateLimiter;
  /** Checked before each attempt (`SendContext.admit`): the fence of the default lock; absent: every attempt is sent. */
  readonly admit?: () => Observable<boolean>;
  readonly payloadLimits?: PayloadLimits;
}
