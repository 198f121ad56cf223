import type { MeterProvider, TracerProvider } from '@opentelemetry/api';
import type { SchedulerLike, Observable } from 'rxjs';
import type { Reconcile } from '../../streams/resolve-conflict';
import type { FetchLike, HttpTransport } from '../api/http-transport';
import type { TokenSource } from '../auth/token-manager';
import type { ProcessorLock } from '../lock/processor-lock';
import type { DefaultLockOptions } from '../lock/default-lock';
import type { Logger } from '../log/logger';
import type { PendingOp } from '../op/pending-op';
import type { BackoffPolicy } from '../policy/backoff';
import type { OpRouter } from '../router/op-router';
import type { RouteTable } from '../router/route-types';
import type { PayloadLimits } from '../security/payload-guard';
import type { RateLimitOptions } from '../security/rate-limiter';
import type { OpStore } from '../store/op-store';
import type { PowerConstraints } from './platform-signals';
import type { ServerWake } from '../wake/server-wake';
import type { WakePort } from './wake-port';
import type { CrossTabPort } from './cross-tab-port';

/**
 * Options of `createSyncEngine`. Only `baseUrl`, `routes` and `store` are
 * required; every default is in `SYNC_ENGINE_DEFAULTS` or the constant
 * named on the field. Durations are in milliseconds.
 *
 * @example
 * const options: SyncEngineOptions = {
 *   baseUrl: 'https://api.example.com',
 *   routes,
 *   store,
 *   auth: { getToken: () => session.token, refreshToken: () => session.refresh() }, // optional
 *   requestHeaders: { 'X-App-Version': '2.1.0' },
 *   backoff: { baseMs: 500, maxAttempts: 8 },
 *   lock: { heartbeatMs: 1000, staleAfterMs: 3000 },
 * };
 */
export interface SyncEngineOptions<R extends RouteTable = RouteTable> {
  /** `https://…`; `http://` only for a loopback host (127.0.0.0/8, localhost, [::1]). */
  readonly baseUrl: string;
  /**
   * Operation types → requests (`defineRoutes`). Validates payloads at
   * enqueue. Its table types the engine (`enqueue`, `results$`).
   */
  readonly routes: OpRouter<R>;
  /**
   * The durable queue (`createOpStore`, `createSqliteOpStore`). The app owns
   * it: the engine never closes it, not even in `dispose()`. Close it after
   * `await engine.dispose()`.
   */
  readonly store: OpStore;
  /**
   * Where tokens come from. `getToken` is called before every request
   * (null: signed out → `authRequired`); `refreshToken` on a 401 (once per
   * request) and proactively before the JWT's `exp`. Default: none — for a
   * backend that needs no credentials: requests carry no `Authorization`
   * header, and a 401 puts the engine in `authRequired` with
   * `status$.lastError` `{ kind: 'auth', status: 401, code: 'no_credentials' }`.
   */
  readonly auth?: TokenSource;
  /**
   * The signed-in account: the app's own id for the user (never a token),
   * or null when no one is signed in. Given, accounts are in use: `enqueue`
   * stamps the op with the account (signed out, it rejects with
   * `AuthError` code `signed_out`); an op is sent only while its account
   * is signed in — the others stay pending, untouched, counted in
   * `status$.waitingForAccount`; signed out, the gate is closed
   * (`blockedBy: ['signedOut']`). A change aborts the request in flight
   * (no attempt consumed), makes the token manager forget the previous
   * account's tokens, and leaves `authRequired`. Emit the new account no
   * later than `auth.getToken` starts returning its token (in the same
   * synchronous step, or first). Ops with no account (enqueued without
   * `account$`, or by an older build) are sent under whoever is signed in.
   * Until it emits: signed out. Default: none (accounts not in use; ops of
   * an account, from an earlier run with `account$`, are then never sent).
   */
  readonly account$?: Observable<string | null>;
  /** Connectivity. Default: `navigator.onLine` + window events; always online where absent (Node). */
  readonly online$?: Observable<boolean>;
  /** Power and visibility. Default: Page Visibility + Battery Status APIs; none in Node. */
  readonly constraints$?: Observable<PowerConstraints>;
  /**
   * HTTP. Default: the platform's own `globalThis.fetch` (the browser's;
   * Node's undici), and once `sync-engine/node` is loaded its `nodeFetch()`
   * (TLS ≥ 1.3 to non-loopback hosts). Redirects are never followed,
   * whichever fetch.
   */
  readonly fetch?: FetchLike;
  /** Replaces `fetch` entirely (advanced; tests use a scripted transport). */
  readonly transport?: HttpTransport;
  /**
   * Every timer (backoff, timeouts, heartbeats). Default `asyncScheduler`.
   * When given, it also starts the commit of an answered op and the read of
   * the next batch (virtual time in tests); by default those start in the
   * next macrotask (`taskScheduler`), once the next request has gone out.
   */
  readonly scheduler?: SchedulerLike;
  /** Jitter source in [0, 1). Default `Math.random`. */
  readonly random?: () => number;
  /** Clock, epoch ms. Default `scheduler.now()`. */
  readonly now?: () => number;
  /** Backoff overrides on `DEFAULT_BACKOFF_POLICY` (base 1 s, cap 2 min, 5 attempts, full jitter). */
  readonly backoff?: Partial<BackoffPolicy>;
  /**
   * The processor lock. Default (`createDefaultLock`): Web Locks
   * (`navigator.locks`) in browsers, the storage lock elsewhere and as the
   * fallback, given up while the page is frozen or hidden, fenced by the
   * token kept in the store. An object of options tunes it: the storage
   * lock's timings (`STORAGE_LOCK_DEFAULTS`), `locks` (`null`: the storage
   * lock in browsers too; a fake `LockManager` in tests), `suspended$`
   * (default `platformSuspended$()`), `stealAfterMs` (take the Web Lock from
   * a holder frozen without a `freeze` event; default 3 000, 0: never). Or pass your own `ProcessorLock`: it
   * is used as is, unfenced.
   */
  readonly lock?: Omit<DefaultLockOptions, 'scheduler' | 'now'> | ProcessorLock;
  /** Per-request timeout (whole exchange), ms, at most 2^31 − 1 (like every timer option). Default 15 000. */
  readonly requestTimeoutMs?: number;
  /**
   * Longest response body read, bytes; past it the request is aborted. A
   * 2xx past it fails the op as `malformedResponse` (`tooLarge`: the server
   * applied it; a retry from `failed_ops` keeps the key), other statuses are
   * classified without their body. Memory per reply stays within it.
   * Default 1 048 576 (1 MiB). Applies to the fetch transport, not to a
   * custom `transport`.
   */
  readonly maxResponseBytes?: number;
  /** Conflict (409) hook: retry with a new payload, drop, or fail. Default: fail. */
  readonly reconcile?: Reconcile;
  /** Ops read from the store per batch. Default 20. */
  readonly batchSize?: number;
  /**
   * Requests on the wire at once, an integer ≥ 1. Default 1: strict FIFO,
   * one op at a time. Above 1, ops with the same route `orderKey` are still
   * sent strictly in enqueue order and never overlap; ops of different keys
   * go out together, up to this many requests (routes without `orderKey`
   * share one key). An op waiting (backoff, a stored wait, a token refresh)
   * blocks only its own key and holds no request slot.
   */
  readonly concurrency?: number;
  /**
   * Send ready ops in batches through the server's batch endpoint
   * (`docs/api_envelope.md`): consecutive ready ops, per-key order kept, up
   * to `maxOps` entries (default 100) and `maxBytes` of serialized entries
   * (default 262 144). Default: off (one request per op).
   */
  readonly batch?: BatchOptions;
  /**
   * Backoff waits are multiplied by this while `powerSaving`: a finite
   * number ≥ 1. The stretched wait is clamped to the policy maximum
   * (`maxWaitMs`: 1 h by default, never above 2^31 − 1 ms). Default 4.
   */
  readonly powerSavingBackoffFactor?: number;
  /**
   * While processing with an empty queue, look at the queue again this
   * often, ms, to pick up ops another tab or process appended to the same
   * storage (not on this engine's change feed). Own appends wake the drain
   * at once regardless, other tabs' too with a `wake` port, and a new lock
   * holder reads the queue on acquisition. 0 disables (single-process
   * apps). Default 5 000.
   */
  readonly idlePollMs?: number;
  /**
   * Wake the lock holder in another tab or process at once when this engine
   * appends. Default in browsers: the `crossTab` channel's (another tab's
   * append reaches the holder in milliseconds); elsewhere none (other
   * processes' appends are found by `idlePollMs`). Your own `WakePort`
   * (e.g. `broadcastChannelWake(name)`) replaces it; `false` disables it.
   * Closed by `dispose()`.
   */
  readonly wake?: WakePort | false;
  /**
   * The channel to the other engines on the same store, so every tab tells
   * the truth: each engine posts its store's changes and its results, and
   * publishes the others' on its own `changes$` and `results$` (each op's
   * outcome once per engine, whichever engine sent it); `cancel` on an
   * engine without the lock is forwarded to the holder. Lost messages are
   * recovered by reading the store every `idlePollMs` (ledger, `failed_ops`).
   * Default in browsers: `broadcastChannelCrossTab('sync-engine:tabs:<store
   * name>')` (same origin); elsewhere none. `pollOnlyCrossTab()` for Node
   * processes sharing a SQLite file (store reads only); `false` disables.
   * Closed by `dispose()`.
   */
  readonly crossTab?: CrossTabPort | false;
  /**
   * The server's push channel (`eventSourceWake(url)`, `webSocketWake(url)`,
   * or your own `ServerWake`): while started, each "ready" announcement is a
   * `syncNow()` — a queue waiting on its own backoff is sent at once (a
   * server's `Retry-After` is still honoured). Default: none (the queue
   * waits its backoff out).
   */
  readonly serverWake?: ServerWake;
  /** Wait before retrying after a storage failure, ms. Default 1 000 (then the backoff policy). */
  readonly storageRetryMs?: number;
  /** Client-side token bucket before every send; `false` disables. Default `RATE_LIMIT_DEFAULTS` (1 000 burst, 200/s: a net for a runaway loop, never the limit of a normal drain). */
  readonly rateLimit?: RateLimitOptions | false;
  /** Payload size/depth limits checked at enqueue. Default `PAYLOAD_LIMITS`. */
  readonly payloadLimits?: PayloadLimits;
  /**
   * Extra headers on every request: an object (checked at construction:
   * HTTP token names, Latin-1 values without CR/LF, none of the engine's
   * own), or a function called per attempt, e.g.
   * `(op) => injectTraceHeaders({}, tracing.contextFor(op.id))`. They never
   * replace or add the engine's own headers (`Authorization`,
   * `Idempotency-Key`, `Trace-Id`, `Content-Type`, `Accept`, in any case):
   * such names from the function are dropped; a name or value `fetch` would
   * refuse fails that op (`ValidationError`, `failed_ops`). Default: none.
   */
  readonly requestHeaders?: Readonly<Record<string, string>> | ((op: PendingOp) => Readonly<Record<string, string>> | undefined);
  /** Refresh the JWT this long before its `exp`, ms. Default 30 000. */
  readonly tokenRefreshSkewMs?: number;
  /**
   * Longest wait for `auth.getToken()` or `auth.refreshToken()` to settle,
   * ms (at most 2^31 − 1). A refresh still pending then counts as failed:
   * `authRequired`, `status$.lastError` `{ kind: 'auth', code:
   * 'refresh_timeout' }`. A `getToken()` still pending is retried after a
   * backoff wait (`lastError` `{ kind: 'timeout', code: 'token_timeout' }`,
   * no attempt consumed). Default 30 000.
   */
  readonly authTimeoutMs?: number;
  /** Lifecycle log lines (redacted) at the spec's levels. Default: no output. */
  readonly logger?: Logger;
  /** Spans (`sync.op`, `sync.op.send`). Default: the global OpenTelemetry TracerProvider. */
  readonly tracerProvider?: TracerProvider;
  /** Metric instruments. Default: the global OpenTelemetry MeterProvider, re-read lazily. */
  readonly meterProvider?: MeterProvider;
  /** `metrics$` re-emits at least this often, ms. Default 5 000. */
  readonly metricsSampleIntervalMs?: number;
}

/**
 * The batch endpoint and how much one batch carries.
 *
 * @example
 * createSyncEngine({ ...options, batch: { path: '/batch', maxOps: 50 } });
 */
export interface BatchOptions {
  /** The batch endpoint below `baseUrl`, e.g. `/batch`. */
  readonly path: string;
  /** Most ops per batch request, an integer ≥ 1. Default 100. */
  readonly maxOps?: number;
  /** Most bytes of serialized entries per batch request. Default 262 144 (256 KiB). */
  readonly maxBytes?: number;
}

/**
 * Defaults of `SyncEngineOptions` (durations in ms). Backoff, lock, rate
 * limit and payload limits have their own constants: `DEFAULT_BACKOFF_POLICY`,
 * `STORAGE_LOCK_DEFAULTS`, `RATE_LIMIT_DEFAULTS`, `PAYLOAD_LIMITS`.
 *
 * @example
 * createSyncEngine({ ...options, requestTimeoutMs: SYNC_ENGINE_DEFAULTS.requestTimeoutMs * 2 });
 */
export const SYNC_ENGINE_DEFAULTS = Object.freeze({
  requestTimeoutMs: 15_000,
  maxResponseBytes: 1_048_576,
  batchSize: 20,
  concurrency: 1,
  batchMaxOps: 100,
  batchMaxBytes: 262_144,
  powerSavingBackoffFactor: 4,
  storageRetryMs: 1_000,
  idlePollMs: 5_000,
  tokenRefreshSkewMs: 30_000,
  authTimeoutMs: 30_000,
});
