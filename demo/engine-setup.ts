/**
 * How the demo, the integration tests and the drain bench build an engine:
 * the demo app's routes (todos, contacts) and an engine on a SQLite store.
 * The one place in Node that knows `createSyncEngine`'s options (the
 * browser demo's page has its own: `demo/web/app/open-demo-engine.ts`).
 */
import type { Observable } from 'rxjs';
import { createSyncEngine } from '../src/create-sync-engine';
import type { SyncEngineOptions } from '../src/engine/sync-engine-options';
import { createSqliteOpStore, type SqliteSynchronous } from '../src/node';
import type { OpStore } from '../src/store/op-store';
import { demoRoutes } from './routes';
import type { WorkerConfig } from './protocol';

export { demoRoutes };

export interface DemoEngineOptions {
  readonly baseUrl: string;
  readonly store: OpStore;
  readonly auth: { getToken(): Promise<string>; refreshToken(): Promise<string> };
  readonly online$?: Observable<boolean>;
  readonly fetch?: typeof fetch;
  readonly requestTimeoutMs: number;
  readonly backoff: { readonly baseMs: number; readonly capMs: number };
  readonly lock: { readonly heartbeatMs: number; readonly staleAfterMs: number };
  /** Anything else of `createSyncEngine`'s options (tests: payload limits…). */
  readonly extra?: Partial<SyncEngineOptions>;
}

/** The engine handle `createSyncEngine` returns (`dispose()` ends every timer). */
export type DemoEngine = ReturnType<typeof createSyncEngine>;

/** An engine for the demo routes. */
export function createDemoEngine(o: DemoEngineOptions): DemoEngine {
  return createSyncEngine({
    baseUrl: o.baseUrl,
    routes: demoRoutes,
    store: o.store,
    auth: o.auth,
    online$: o.online$,
    fetch: o.fetch,
    requestTimeoutMs: o.requestTimeoutMs,
    backoff: { baseMs: o.backoff.baseMs, capMs: o.backoff.capMs },
    lock: { heartbeatMs: o.lock.heartbeatMs, staleAfterMs: o.lock.staleAfterMs },
    // The demo and the drain bench measure the engine against the server's
    // limits; a drain on loopback (~1 300 ops/s) would outrun the client-side
    // net for runaway loops (RATE_LIMIT_DEFAULTS: 1 000 burst, then 200/s).
    rateLimit: false,
    // Test tokens live 60 s; refresh shortly before expiry, not 30 s before.
    tokenRefreshSkewMs: 2000,
    ...o.extra,
  });
}

/** Import a raw AES-256 key (base64) as a non-extractable AES-GCM key. */
export function importRawKey(b64: string): Promise<CryptoKey> {
  const raw = new Uint8Array(Buffer.from(b64, 'base64'));
  return globalThis.crypto.subtle.importKey('raw', raw, { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']);
}

/** A SQLite store for tests (key file next to the database). */
export function openTestStore(path: string, synchronous: SqliteSynchronous = 'NORMAL'): Promise<OpStore> {
  return createSqliteOpStore(path, { synchronous });
}

/**
 * What a worker process runs: SQLite store + engine. `synchronous` NORMAL
 * (WAL): every resolved write survives the process being killed — the crash
 * the demo and the tests inflict — but not a power cut; FULL adds an fsync
 * per commit (see docs/performance.md for both).
 */
export async function openDemoEngine(args: {
  config: WorkerConfig;
  online$: Observable<boolean>;
  auth: DemoEngineOptions['auth'];
  fetch: typeof fetch;
}): Promise<{ engine: DemoEngine; store: OpStore; close: () => Promise<void> }> {
  const { config } = args;
  const store = await createSqliteOpStore(config.storePath, {
    encryptionKey: await importRawKey(config.keyB64),
    synchronous: config.synchronous ?? 'NORMAL',
  });
  const engine = createDemoEngine({
    baseUrl: config.baseUrl,
    store,
    auth: args.auth,
    online$: args.online$,
    fetch: args.fetch,
    requestTimeoutMs: config.requestTimeoutMs,
    backoff: config.backoff,
    lock: config.lock,
    extra: {
      ...(config.idlePollMs === undefined ? {} : { idlePollMs: config.idlePollMs }),
      ...(config.concurrency === undefined ? {} : { concurrency: config.concurrency }),
      ...(config.batch === undefined ? {} : { batch: config.batch }),
    },
  });
  return { engine, store, close: () => store.close() };
}
