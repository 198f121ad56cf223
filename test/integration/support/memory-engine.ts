import * as t from 'io-ts';
import { generateStoreKey } from '../../../src/crypto/record-cipher';
import { defineMemoryDriver } from '../../../src/drivers/memory-driver';
import { createSyncEngine, type SyncEngine } from '../../../src/create-sync-engine';
import type { SyncEngineOptions } from '../../../src/engine/sync-engine-options';
import type { EngineEvent, OpResult } from '../../../src/engine/sync-engine';
import { nodeAesGcm } from '../../../src/node/node-aes-gcm';
import { defineRoutes } from '../../../src/router/op-router';
import { createOpStore, type LocalForageOpStore } from '../../../src/store/create-op-store';

const Todo = t.type({ id: t.string, title: t.string });

/** One route per write method, all answering `{ data: anything }`. */
export const writeRoutes = defineRoutes({
  'todo.create': { method: 'POST', path: '/todos', payload: Todo, response: t.unknown },
  'todo.replace': { method: 'PUT', path: '/todos/:id', payload: Todo, response: t.unknown },
  'todo.update': { method: 'PATCH', path: '/todos/:id', payload: Todo, response: t.unknown },
  'todo.delete': { method: 'DELETE', path: '/todos/:id', payload: Todo, response: t.unknown },
});

/** The op type of `writeRoutes` for each method. */
export const TYPE_OF_METHOD = { POST: 'todo.create', PUT: 'todo.replace', PATCH: 'todo.update', DELETE: 'todo.delete' } as const;

/** An engine on an in-memory store, with what it reported. */
export interface MemoryEngine {
  readonly engine: SyncEngine;
  readonly store: LocalForageOpStore;
  readonly results: OpResult[];
  readonly events: EngineEvent[];
  close(): Promise<void>;
}

let opened = 0;

/**
 * `createSyncEngine` on a fresh in-memory encrypted store with `writeRoutes`,
 * a fixed token, fast backoff and lock timings and no client rate limit;
 * `overrides` win. Not started.
 *
 * @example
 * const { engine, results, close } = await openMemoryEngine(server.origin);
 */
export async function openMemoryEngine(baseUrl: string, overrides: Partial<SyncEngineOptions> = {}): Promise<MemoryEngine> {
  opened += 1;
  const store = await createOpStore({
    name: `memory-engine-${opened}`,
    driver: await defineMemoryDriver(),
    encryptionKey: await generateStoreKey(),
    aesGcm: nodeAesGcm,
  });
  const engine = createSyncEngine({
    baseUrl,
    routes: writeRoutes,
    store,
    auth: { getToken: async () => 'secret-token', refreshToken: async () => 'secret-token' },
    requestTimeoutMs: 5_000,
    backoff: { baseMs: 10, capMs: 50 },
    lock: { heartbeatMs: 200, staleAfterMs: 800, settleMs: 5 },
    rateLimit: false,
    idlePollMs: 0,
    ...overrides,
  });
  const results: OpResult[] = [];
  const events: EngineEvent[] = [];
  engine.results$.subscribe((r) => results.push(r));
  engine.events$.subscribe((e) => events.push(e));
  return {
    engine,
    store,
    results,
    events,
    close: async () => {
      await engine.dispose();
      await store.close();
    },
  };
}
