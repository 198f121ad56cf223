import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { BackendDomain, type AppliedEffect, type Contact, type ResourceName, type Todo } from './backend-domain';
import { BackendHttp, Tally, TokenAuthority } from './backend-http';
import { EventStreams } from './event-streams';
import { FaultController } from './faults';
import { errorAnswer } from './http-answer';
import { IdempotencyLayer } from './idempotency-layer';

export type { AppliedEffect, Contact, ResourceName, Todo } from './backend-domain';

/** Request and outcome counters (for assertions and the demo's table). */
export interface BackendCounters {
  /** Requests that reached routing (auth route included). */
  readonly requests: number;
  /** Of those, `POST /auth/token` exchanges. */
  readonly tokenRequests: number;
  /** Distinct idempotency keys seen on requests that passed auth (faulted ones included). */
  readonly distinctKeys: number;
  /** Mutating requests that passed auth and faults and reached the idempotency layer. */
  readonly sends: number;
  readonly applied: number;
  /** Answers replayed from the idempotency store (no second effect). */
  readonly replays: number;
  /** 409 `idempotency_key_in_use` answers. */
  readonly inUse: number;
  /** 422 answers for a key reused with a different payload. */
  readonly mismatches: number;
  readonly unauthorized: number;
  readonly tokensIssued: number;
  /** Batch requests that passed auth and the size limits (each also counts once in `requests`). */
  readonly batches: number;
  /** Batch entries the server processed (each also counts in `sends` once it reaches the idempotency layer). */
  readonly batchEntries: number;
  /** Batch entries answered 424 and not applied (an earlier entry failed transiently). */
  readonly notApplied: number;
  readonly byStatus: Readonly<Record<number, number>>;
  readonly faults: Readonly<Record<string, number>>;
}

/** Options of `startReferenceBackend`. Every field is optional. */
export interface ReferenceBackendOptions {
  /** Loopback address to bind: `127.0.0.1` (default) or `::1`. Anything else is refused. */
  readonly host?: '127.0.0.1' | '::1';
  /** Port; default 0 (the OS picks a free one). */
  readonly port?: number;
  /** The server clock (epoch ms): token expiry, idempotency expiry, `Date`. Default `Date.now`. */
  readonly now?: () => number;
  /** HS256 secret for tokens. Default: 32 random bytes. */
  readonly jwtSecret?: Buffer | string;
  /** TTL of tokens from `POST /auth/token`, ms. Default 60 000. */
  readonly tokenTtlMs?: number;
  /** The credential `POST /auth/token` accepts. Default: random; read it from `backend.refreshCredential`. */
  readonly refreshCredential?: string;
  /** How long a stored idempotent answer is kept, ms. Default 24 h. */
  readonly idempotencyTtlMs?: number;
  /** Require `Idempotency-Key` on POST/PATCH/PUT/DELETE (400 when missing). Default true. */
  readonly requireIdempotencyKey?: boolean;
  /** Largest accepted request body, bytes (413 above). Default 1 MiB. */
  readonly maxBodyBytes?: number;
  /** Upper bound for `hang` faults without `ms` and for holding sockets, ms. Default 30 000. */
  readonly maxHangMs?: number;
  /**
   * The batch endpoint (`docs/api_envelope.md`, "Batch"): its path (default
   * `/batch`), and the largest batch it takes — `maxEntries` entries
   * (default 100) and `maxBytes` of body (default `maxBodyBytes`); above
   * either the whole request is answered 413 `batch_too_large`, nothing applied.
   */
  readonly batch?: { readonly path?: string; readonly maxEntries?: number; readonly maxBytes?: number };
}

/** Defaults of `ReferenceBackendOptions.batch`. */
export const REFERENCE_BATCH_DEFAULTS = Object.freeze({ path: '/batch', maxEntries: 100 });

/** A running reference backend. */
export interface ReferenceBackend {
  /** Base URL, e.g. `http://127.0.0.1:54321`. */
  readonly url: string;
  readonly port: number;
  /** Fault injection control. */
  readonly faults: FaultController;
  /** The credential that `POST /auth/token` exchanges for a fresh token. */
  readonly refreshCredential: string;
  /** A fresh HS256 token valid `ttlMs` (default: `tokenTtlMs`). */
  issueToken(ttlMs?: number, subject?: string): string;
  /** Make every token issued so far invalid (401 `token_expired`): token expiry mid-run. */
  expireTokens(): void;
  /** How many times the request with this key was applied (0, 1 — or more if something is broken). */
  effects(idempotencyKey: string): number;
  /** Effect counts of every key seen applied. */
  effectsByKey(): ReadonlyMap<string, number>;
  /** Every applied effect in commit order. */
  applied(): readonly AppliedEffect[];
  /**
   * Call `listener` synchronously after each effect is committed and before
   * its answer is written — e.g. to SIGKILL a client exactly between the
   * server's commit and the client's ledger write. Returns an unsubscribe.
   */
  onEffect(listener: (effect: AppliedEffect) => void): () => void;
  /** The applied effects of one entity, in commit order. */
  entityLog(resource: ResourceName, id: string): readonly AppliedEffect[];
  /** Current state of one entity (undefined when absent or deleted). */
  entity(resource: 'todos', id: string): Todo | undefined;
  entity(resource: 'contacts', id: string): Contact | undefined;
  counters(): BackendCounters;
  /** Drop all data, logs, idempotency entries and counters (faults stay). */
  reset(): void;
  /** Stop listening, destroy open connections, cancel hung requests. Idempotent. */
  close(): Promise<void>;
}

/**
 * Start the reference backend: a real `node:http` server on loopback that
 * implements the wire contract of `docs/api_envelope.md` and
 * `docs/idempotency_policy.md` for `todos` and `contacts`, with HS256 JWT
 * auth and scripted or seeded-random fault injection. It counts effects per
 * idempotency key, so a test can assert "applied exactly once".
 *
 * Routes (all JSON, envelope `{ data }` / `{ error: { code, message, details? } }`):
 * - `POST /auth/token` `{ "refreshCredential": "…" }` → `{ data: { token, expiresAt } }`
 * - `POST /todos` `{ id, title, done? }` → 201; existing id → 409 `already_exists`
 * - `PATCH /todos/:id` `{ title?, done?, ifVersion? }` → 200; stale `ifVersion` → 409 `version_conflict`
 * - `DELETE /todos/:id` → 200 `{ data: { id, deleted: true } }`
 * - `GET /todos`, `GET /todos/:id`; the same five for `/contacts` (`{ id, name, email? }`)
 * - `POST /batch` `{ ops: [{ idempotencyKey, traceId, method, path, body }] }`
 *   → 200 `{ results: [{ status, data | error, retryAfter? }] }`: the entries
 *   applied in order, each as if sent alone; a retryable entry answer stops
 *   the batch (later entries 424, not applied); 413 over `batch` limits
 * - `GET /events`: Server-Sent Events, `event: ready` on connect while up and
 *   each time the server comes back from `faults.down(true)` (for
 *   `eventSourceWake`; no auth, no data)
 *
 * @example
 * const backend = await startReferenceBackend();
 * try {
 *   backend.faults.script([{ kind: 'commitThenDrop' }]);
 *   // … run an engine against backend.url with getToken: () => backend.issueToken() …
 *   expect(backend.effects(op.idempotencyKey)).toBe(1);
 * } finally {
 *   await backend.close();
 * }
 */
export async function startReferenceBackend(options: ReferenceBackendOptions = {}): Promise<ReferenceBackend> {
  const host = options.host ?? '127.0.0.1';
  if (host !== '127.0.0.1' && host !== '::1') throw new Error('reference backend binds to loopback only');
  const now = options.now ?? Date.now;
  const tokenTtlMs = options.tokenTtlMs ?? 60_000;
  const maxHangMs = options.maxHangMs ?? 30_000;
  let tally = new Tally();
  const domain = new BackendDomain(now);
  const idempotency = new IdempotencyLayer(now, options.idempotencyTtlMs ?? 24 * 60 * 60 * 1000);
  const tokens = new TokenAuthority(options.jwtSecret ?? randomBytes(32), now, tokenTtlMs, () => tally);
  const hangs = new Hangs(maxHangMs);
  const refreshCredential = options.refreshCredential ?? randomBytes(18).toString('base64url');
  const faults = new FaultController();
  const http = new BackendHttp({
    now,
    domain,
    idempotency,
    faults,
    tokens,
    tally: () => tally,
    refreshCredential,
    tokenTtlMs,
    requireKey: options.requireIdempotencyKey ?? true,
    maxBodyBytes: options.maxBodyBytes ?? 1024 * 1024,
    maxHangMs,
    sleep: (ms) => hangs.sleep(ms),
    closed: () => hangs.closed,
    events: new EventStreams(faults),
    batch: {
      path: options.batch?.path ?? REFERENCE_BATCH_DEFAULTS.path,
      maxEntries: options.batch?.maxEntries ?? REFERENCE_BATCH_DEFAULTS.maxEntries,
      maxBytes: options.batch?.maxBytes ?? options.maxBodyBytes ?? 1024 * 1024,
    },
  });
  const { server, sockets, url, port } = await listen(http, host, options.port ?? 0);
  let closing: Promise<void> | undefined;

  return {
    url,
    port,
    faults,
    refreshCredential,
    issueToken: (ttlMs, subject) => tokens.issue(ttlMs, subject),
    expireTokens: () => tokens.expireAll(),
    effects: (k) => domain.effects(k),
    effectsByKey: () => domain.effectsByKey(),
    applied: () => domain.applied(),
    onEffect: (listener) => domain.onEffect(listener),
    entityLog: (resource, id) => domain.entityLog(resource, id),
    entity: ((resource: ResourceName, id: string) => domain.entity(resource, id)) as ReferenceBackend['entity'],
    counters: () => countersOf(tally, domain, faults),
    reset: () => {
      domain.reset();
      idempotency.reset();
      tally = new Tally();
    },
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        hangs.close();
        server.close(() => resolve());
        server.closeAllConnections();
        for (const s of sockets) s.destroy();
      });
      return closing;
    },
  };
}

function countersOf(tally: Tally, domain: BackendDomain, faults: FaultController): BackendCounters {
  const { requests, sends, replays, inUse, mismatches, unauthorized, tokensIssued, tokenRequests, batches, batchEntries, notApplied } = tally;
  return {
    ...{ requests, sends, applied: domain.appliedCount(), replays, inUse, mismatches, unauthorized, tokensIssued, tokenRequests },
    ...{ batches, batchEntries, notApplied },
    distinctKeys: tally.keysSeen.size,
    byStatus: Object.fromEntries(tally.byStatus),
    faults: faults.injected(),
  };
}

/** The hung requests' timers (bounded by `maxHangMs`); closing ends every wait at once. */
class Hangs {
  closed = false;
  readonly #timers = new Set<NodeJS.Timeout>();

  constructor(private readonly maxHangMs: number) {}

  sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      if (this.closed) return resolve();
      const t = setTimeout(() => {
        this.#timers.delete(t);
        resolve();
      }, Math.min(Math.max(0, ms), this.maxHangMs));
      this.#timers.add(t);
    });
  }

  close(): void {
    this.closed = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
  }
}

/** Start the `node:http` server on loopback; it tracks its sockets so `close` can destroy them. */
async function listen(
  http: BackendHttp,
  host: string,
  port: number,
): Promise<{ server: Server; sockets: ReadonlySet<Socket>; url: string; port: number }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    http.handle(req, res).catch(() => {
      // The reference backend never answers with internals; a bug here is a 500.
      http.send(res, errorAnswer(500, 'internal', 'internal error'));
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('clientError', (_err, socket) => {
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  const url = host === '::1' ? `http://[::1]:${bound}` : `http://127.0.0.1:${bound}`;
  return { server, sockets, url, port: bound };
}
