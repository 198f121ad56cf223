/**
 * Bundled by esbuild for the Chromium end-to-end suite (`e2e-*.test.ts`):
 * one whole engine in the page — the default IndexedDB store with its
 * device key, the default online signal (`navigator.onLine` and the
 * window's `online`/`offline` events) — against the reference backend on
 * the page's own origin. Records what the engine does with page-side times.
 */
import * as t from 'io-ts';
import { createSyncEngine, type SyncEngine } from '../../src/create-sync-engine';
import type { RoutesOf } from '../../src/router/route-types';
import type { EngineStatus } from '../../src/engine/sync-engine';
import { StorageError, SyncError } from '../../src/errors/sync-error';
import { defineRoutes } from '../../src/router/op-router';
import { createOpStore } from '../../src/store/create-op-store';
import { deletePlaintextControl, readDeviceKey, scanIndexedDb, writePlaintextControl } from './e2e-raw-idb';

const routes = defineRoutes({
  'todo.create': {
    method: 'POST',
    path: '/todos',
    payload: t.intersection([t.type({ id: t.string, title: t.string }), t.partial({ note: t.string })]),
    response: t.unknown,
  },
});

/** What the page records, each with the page's clock. */
export interface PageEvent {
  readonly type: string;
  readonly at: number;
  readonly id?: string;
  readonly online?: boolean;
}

/** How an `enqueue` ended, as plain data for the test. */
export type EnqueueOutcome =
  | { readonly ok: true; readonly id: string }
  | { readonly ok: false; readonly id: string; readonly name: string; readonly storageError: boolean; readonly reason?: string; readonly kind?: string };

let engine: SyncEngine<RoutesOf<typeof routes>> | undefined;
let store: Awaited<ReturnType<typeof createOpStore>> | undefined;
let status: EngineStatus | undefined;
const events: PageEvent[] = [];
const todoId = (payload: unknown): string => (payload as { id: string }).id;

const e2e = {
  /** Open the store and the engine; start it unless `start: false`. */
  async open(o: { readonly name: string; readonly token: string; readonly start?: boolean; readonly quotaReserveBytes?: number }): Promise<void> {
    store = await createOpStore({ name: o.name, ...(o.quotaReserveBytes === undefined ? {} : { quotaReserveBytes: o.quotaReserveBytes }) });
    const e = createSyncEngine({
      baseUrl: location.origin,
      routes,
      store,
      auth: { getToken: () => o.token, refreshToken: async () => o.token },
      backoff: { baseMs: 200, capMs: 1000 },
      requestTimeoutMs: 5000,
      rateLimit: false,
    });
    engine = e;
    e.status$.subscribe((s) => {
      if (status?.online !== s.online) events.push({ type: 'online', at: Date.now(), online: s.online });
      status = s;
    });
    e.events$.subscribe((ev) => {
      if (ev.type === 'attemptStarted' || ev.type === 'completed') events.push({ type: ev.type, at: Date.now(), id: todoId(ev.op.payload) });
      if (ev.type === 'lockAcquired') events.push({ type: ev.type, at: Date.now() });
    });
    if (o.start !== false) e.start();
  },

  start(): void {
    engine!.start();
  },

  /** Enqueue one op per id, in order; `noteBytes` of random text make each record that much larger. */
  async enqueue(ids: readonly string[], title = 'todo', noteBytes = 0): Promise<EnqueueOutcome[]> {
    const out: EnqueueOutcome[] = [];
    for (const id of ids) {
      const note = noteBytes > 0 ? randomText(noteBytes) : undefined;
      try {
        await engine!.enqueue({ type: 'todo.create', payload: { id, title: `${title} ${id}`, ...(note ? { note } : {}) } });
        out.push({ ok: true, id });
      } catch (err) {
        const e = err as Error;
        out.push({
          ok: false,
          id,
          name: e.name,
          storageError: err instanceof StorageError,
          ...(err instanceof StorageError ? { reason: err.reason } : {}),
          ...(err instanceof SyncError ? { kind: err.kind } : {}),
        });
      }
    }
    return out;
  },

  events: (): readonly PageEvent[] => events,
  status: (): EngineStatus | undefined => status,
  failed: async (): Promise<number> => (await engine!.failedOps.list()).length,
  scanIndexedDb,
  readDeviceKey,
  writePlaintextControl,
  deletePlaintextControl,
  async close(): Promise<void> {
    await engine?.dispose();
    await store?.close();
  },
};

function randomText(bytes: number): string {
  const raw = new Uint8Array(Math.ceil(bytes / 2));
  for (let i = 0; i < raw.length; i += 65536) crypto.getRandomValues(raw.subarray(i, i + 65536));
  return Array.from(raw, (b) => b.toString(16).padStart(2, '0')).join('').slice(0, bytes);
}

(globalThis as unknown as { e2e: typeof e2e }).e2e = e2e;
