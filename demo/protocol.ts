/**
 * Messages between the demo (or an integration test) and an engine worker
 * process (`engine-worker.ts`), over the `child_process.fork` IPC channel.
 * Nothing here carries a payload value or a token.
 */

/** How a worker sets up its engine; passed as JSON in `SYNC_WORKER_CONFIG`. */
export interface WorkerConfig {
  /** A label for reports ("A", "B", "restart-1"). */
  readonly name: string;
  readonly baseUrl: string;
  /** Exchanged for tokens at `POST /auth/token` of the reference backend. */
  readonly refreshCredential: string;
  /** SQLite database file of the store (shared across restarts). */
  readonly storePath: string;
  /** Raw AES-256 key, base64 (the same on every restart). */
  readonly keyB64: string;
  readonly requestTimeoutMs: number;
  readonly backoff: { readonly baseMs: number; readonly capMs: number };
  readonly lock: { readonly heartbeatMs: number; readonly staleAfterMs: number };
  readonly online: boolean;
  /** Start the engine right away (otherwise on a `start` message). */
  readonly autoStart: boolean;
  /** Period of `progress` messages, ms. */
  readonly progressMs: number;
  /** Report every request's start and end (two-engine exclusivity checks). */
  readonly traceRequests?: boolean;
  /** SQLite `synchronous` of the store. Default NORMAL (survives SIGKILL, not power loss). */
  readonly synchronous?: 'FULL' | 'NORMAL';
  /** The engine's `idlePollMs` (ops other processes append). Default: the engine's (5 000). */
  readonly idlePollMs?: number;
  /** The engine's `concurrency` (routes are keyed per entity). Default 1: strict FIFO. */
  readonly concurrency?: number;
  /** The engine's `batch` option. Default: off. */
  readonly batch?: { readonly path: string; readonly maxOps?: number; readonly maxBytes?: number };
}

export interface EnqueueItem {
  readonly ref: number;
  readonly type: string;
  readonly payload: unknown;
}

export type ToWorker =
  | { readonly t: 'enqueue'; readonly items: readonly EnqueueItem[] }
  | { readonly t: 'start' }
  | { readonly t: 'online'; readonly online: boolean }
  | { readonly t: 'report' }
  | { readonly t: 'stop' };

export interface EnqueuedEntry {
  readonly ref: number;
  readonly opId: string;
  readonly idempotencyKey: string;
  readonly createdAt: number;
}

export interface WorkerProgress {
  readonly at: number;
  readonly pending: number;
  readonly failed: number;
  readonly committed: number;
  readonly conflicts: number;
  readonly attempts: number;
  readonly failedAttempts: number;
  readonly retryAfterWaits: number;
  readonly tokenRefreshes: number;
  readonly lockHeld: boolean;
  readonly processing: boolean;
  readonly authRequired: boolean;
  readonly blockedBy: readonly string[];
  readonly inFlight: boolean;
}

export interface FailedEntry {
  readonly idempotencyKey: string | null;
  readonly reason: string;
  readonly kind: string | null;
  readonly status: number | null;
  readonly code: string | null;
}

export type FromWorker =
  | { readonly t: 'ready'; readonly pid: number; readonly at: number }
  | { readonly t: 'enqueued'; readonly entries: readonly EnqueuedEntry[] }
  | { readonly t: 'enqueueRejected'; readonly ref: number; readonly error: string; readonly code: string | null }
  | { readonly t: 'progress'; readonly progress: WorkerProgress }
  | { readonly t: 'lockAcquired'; readonly at: number; readonly takeover: boolean; readonly fencingToken: number }
  | { readonly t: 'lockLost'; readonly at: number }
  | { readonly t: 'committed'; readonly at: number; readonly idempotencyKey: string; readonly fromLedger: boolean }
  | { readonly t: 'request'; readonly start: number; readonly end: number; readonly ok: boolean }
  | {
      readonly t: 'report';
      readonly pendingKeys: readonly string[];
      readonly failed: readonly FailedEntry[];
      readonly progress: WorkerProgress;
    }
  | { readonly t: 'fatal'; readonly error: string }
  | { readonly t: 'stopped' };
