/**
 * Every engine on one store learns every op's outcome, whichever engine
 * sent it — here two engines in one process on one SQLite file, as two
 * Node processes would share it, against the reference backend:
 * - with `pollOnlyCrossTab()` (no channel: what Node processes have), the
 *   engine without the lock learns the other's appends and every outcome
 *   from its reads of the store (ledger → committed, `failed_ops` → failed);
 * - with the browser default (a `BroadcastChannel` named after the store;
 *   Node's own channel stands in for the browser's), the outcomes arrive as
 *   messages, with the server's data, and an append reaches the holder at
 *   once (its idle poll is a minute away).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSyncEngine, type SyncEngine } from '../../src/create-sync-engine';
import { pollOnlyCrossTab } from '../../src/engine/cross-tab-port';
import type { OpResult } from '../../src/engine/sync-engine';
import { generateStoreKey } from '../../src/crypto/record-cipher';
import { createSqliteOpStore } from '../../src/node';
import { createOptimisticStore } from '../../src/optimistic/create-optimistic-store';
import type { SealedOpStore } from '../../src/store/create-op-store';
import { startReferenceBackend, type ReferenceBackend } from '../../src/testing';
import { writeRoutes } from './support/memory-engine';
import { sleep, waitUntil } from './support/harness';

jest.setTimeout(60_000);

interface Side {
  readonly engine: SyncEngine;
  readonly store: SealedOpStore;
  readonly results: OpResult[];
  readonly views: string[][];
}

describe('two engines on one SQLite file: both tell the truth', () => {
  let backend: ReferenceBackend;
  let dir: string;
  let key: CryptoKey;
  let opened: Side[] = [];
  beforeAll(async () => {
    backend = await startReferenceBackend();
    dir = mkdtempSync(join(tmpdir(), 'sync-engine-truth-'));
    key = await generateStoreKey();
  });
  afterEach(async () => {
    backend.faults.rule(undefined);
    await Promise.all(opened.map((s) => s.engine.dispose()));
    await Promise.all(opened.map((s) => s.store.close()));
    opened = [];
  });
  afterAll(async () => {
    await backend.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function open(path: string, options: Partial<Parameters<typeof createSyncEngine>[0]>): Promise<Side> {
    const store = await createSqliteOpStore(path, { encryptionKey: key });
    const engine = createSyncEngine({
      baseUrl: backend.url,
      routes: writeRoutes,
      store,
      auth: { getToken: () => backend.issueToken(), refreshToken: async () => backend.issueToken() },
      lock: { heartbeatMs: 200, staleAfterMs: 800, settleMs: 5 },
      rateLimit: false,
      ...options,
    });
    const side: Side = { engine, store, results: [], views: [] };
    engine.results$.subscribe((r) => side.results.push(r));
    const view = createOptimisticStore(engine, {
      initial: [] as string[],
      apply: { 'todo.create': (s, p) => [...s, p.id], 'todo.update': (s, p) => [...s, `~${p.id}`] },
      commit: { 'todo.create': (s, p) => [...s, `${p.id}✓`], 'todo.update': (s, p) => [...s, `~${p.id}✓`] },
    });
    view.state$.subscribe((s) => side.views.push(s));
    opened.push(side);
    return side;
  }

  const outcomes = (s: Side) => s.results.map((r) => `${r.txToken}:${r.outcome}`).sort();
  const enqueue = (s: Side, type: 'todo.create' | 'todo.update', id: string) =>
    s.engine.enqueue({ type, payload: { id, title: `t ${id}` }, txToken: `tx-${id}` });

  async function scenario(a: Side, b: Side, prefix: string): Promise<number> {
    a.engine.start();
    await waitUntil(() => lockHeld(a), 10_000, 'A to hold the lock');
    b.engine.start();
    await sleep(300);
    const enqueuedAt = Date.now();
    await enqueue(b, 'todo.create', `${prefix}b1`);
    await enqueue(b, 'todo.update', `${prefix}missing`); // 404: refused
    await enqueue(a, 'todo.create', `${prefix}a1`);
    await enqueue(b, 'todo.create', `${prefix}b2`);
    return enqueuedAt;
  }

  const lockHeldNow = new WeakMap<SyncEngine, boolean>();
  function lockHeld(s: Side): boolean {
    if (!lockHeldNow.has(s.engine)) s.engine.status$.subscribe((st) => lockHeldNow.set(s.engine, st.lockHeld));
    return lockHeldNow.get(s.engine) === true;
  }

  const expected = (p: string) => [`tx-${p}a1:committed`, `tx-${p}b1:committed`, `tx-${p}b2:committed`, `tx-${p}missing:failed`].sort();

  test('no channel (pollOnlyCrossTab): the engine without the lock learns every outcome from the store', async () => {
    const path = join(dir, 'poll.db');
    const a = await open(path, { crossTab: pollOnlyCrossTab(), idlePollMs: 100 });
    const b = await open(path, { crossTab: pollOnlyCrossTab(), idlePollMs: 100 });
    // Reads alone only learn of ops they saw queued (docs/pipeline.md): every
    // request takes 600 ms, so each engine's 100 ms poll sees every op queued
    // before it settles, even on a loaded box (without it, A could append and
    // commit a1 between two of B's reads, and B would never hear of it).
    backend.faults.rule(() => ({ kind: 'latency', ms: 600 }));
    await scenario(a, b, 'p-');
    await waitUntil(() => a.results.length >= 4 && b.results.length >= 4, 20_000, 'both engines to see 4 outcomes');
    backend.faults.rule(undefined);
    await sleep(500); // nothing more comes
    expect(outcomes(a)).toEqual(expected('p-'));
    expect(outcomes(b)).toEqual(expected('p-'));
    // The refusal is the server's 404, read back from failed_ops.
    expect(b.results.find((r) => r.outcome === 'failed')).toMatchObject({ reason: 'permanent', error: { status: 404 } });
    expect(b.views[b.views.length - 1]).toEqual(['p-b1✓', 'p-a1✓', 'p-b2✓']);
    expect(a.views[a.views.length - 1]).toEqual(['p-b1✓', 'p-a1✓', 'p-b2✓']);
    expect(backend.effectsByKey().size).toBeGreaterThanOrEqual(3);
  });

  test('browser default (BroadcastChannel named after the store): outcomes as messages with the data, appends wake the holder', async () => {
    const path = join(dir, 'channel.db');
    const g = globalThis as { document?: unknown };
    g.document = {}; // "a browser": createSyncEngine's default channel and wake
    let a: Side;
    let b: Side;
    try {
      a = await open(path, { idlePollMs: 60_000 });
      b = await open(path, { idlePollMs: 60_000 });
    } finally {
      delete g.document;
    }
    const enqueuedAt = await scenario(a, b, 'c-');
    await waitUntil(() => a.results.length >= 4 && b.results.length >= 4, 20_000, 'both engines to see 4 outcomes');
    const tookMs = Date.now() - enqueuedAt;
    await sleep(300);
    expect(outcomes(a)).toEqual(expected('c-'));
    expect(outcomes(b)).toEqual(expected('c-'));
    // The holder's decoded data came along (a recovered commit has none).
    expect(b.results.filter((r) => r.outcome === 'committed').every((r) => r.data !== undefined)).toBe(true);
    expect(b.views[b.views.length - 1]).toEqual(['c-b1✓', 'c-a1✓', 'c-b2✓']);
    // eslint-disable-next-line no-console
    console.log(`cross-process truth: 4 ops enqueued across two engines, every outcome in both within ${tookMs} ms (idle poll 60 s)`);
  });
});
