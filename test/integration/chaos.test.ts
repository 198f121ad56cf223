/**
 * Chaos: seeded random fault schedules against a real engine (SQLite store
 * in a temp dir, real timers, loopback). Each seed runs a few hundred ops
 * through resets, hangs past the client timeout, 5xx, 429, lost replies,
 * token expiry, injected conflicts and bad requests, and malformed 200s.
 *
 * Invariants per seed: nothing lost, no duplicate effect, each entity's
 * effects in enqueue order, every failed op has a reason, and the engine
 * ends idle with an empty queue.
 *
 * Run three times: strict FIFO (the default), with `concurrency: 8`, and with batches of 20 ×
 * concurrency 4, over routes keyed per entity (effects in enqueue order per entity, not as a
 * whole log).
 *
 * SYNC_CHAOS_SEEDS=n runs n seeds (default 3) from SYNC_CHAOS_SEED (default
 * 1000); SYNC_CHAOS_OPS sets ops per seed. A failing seed is in the test's
 * name: rerun it with SYNC_CHAOS_SEED=<seed> SYNC_CHAOS_SEEDS=1.
 */
import type { OpResult } from '../../src/engine/sync-engine';
import { startReferenceBackend, verifyDelivery, type ReferenceBackend } from '../../src/testing';
import { buildWorkload } from '../../demo/workload';
import { createDemoEngine, openTestStore } from '../../demo/engine-setup';
import { enqueuedRefs, envInt, tempDir, waitForIdle, deliveryProblems, NOTHING_WRONG } from './support/harness';

const SEEDS = envInt('SYNC_CHAOS_SEEDS', 3);
const OPS = envInt('SYNC_CHAOS_OPS', 200);
const BASE_SEED = envInt('SYNC_CHAOS_SEED', 1000);
const seeds = Array.from({ length: SEEDS }, (_, i) => BASE_SEED + i * 7919);

jest.setTimeout(60_000);

/** The engine modes the suite runs in. */
const ENGINE_MODES = [
  { mode: 'strict FIFO', concurrency: undefined, batch: undefined, strictFifo: true },
  { mode: 'concurrency 8', concurrency: 8, batch: undefined, strictFifo: false },
  { mode: 'batch 20 x concurrency 4', concurrency: 4, batch: { path: '/batch', maxOps: 20 }, strictFifo: false },
] as const;

describe.each(ENGINE_MODES)('chaos: seeded random faults, $mode', ({ concurrency, batch, strictFifo }) => {
  let backend: ReferenceBackend;
  let dir: ReturnType<typeof tempDir>;

  beforeEach(async () => {
    backend = await startReferenceBackend({ tokenTtlMs: 60_000 });
    dir = tempDir('chaos');
  });
  afterEach(async () => {
    await backend.close();
    dir.cleanup();
  });

  test.each(seeds)('seed %i: no loss, no duplicates, FIFO per entity, reasons, idle at the end', async (seed) => {
    backend.faults.random({
      seed,
      rates: {
        latency: 0.05,
        reset: 0.04,
        hang: 0.015,
        status: 0.08,
        rateLimit: 0.01,
        commitThenDrop: 0.05,
        conflict: 0.01,
        badRequest: 0.01,
        nonJson: 0.005,
        malformed: 0.005,
      },
      latencyMs: [1, 30],
      hangMs: 400,
      retryAfterSeconds: 1,
    });
    // Token expiry on a fixed beat, never twice in a row (two 401s in a row
    // would rightly park the engine in authRequired).
    backend.faults.rule((req) => (req.seq % 61 === 0 ? { kind: 'expireToken' } : null));
    const store = await openTestStore(`${dir.path}/queue.sqlite`);
    const engine = createDemoEngine({
      baseUrl: backend.url,
      store,
      auth: { getToken: async () => backend.issueToken(), refreshToken: async () => backend.issueToken() },
      requestTimeoutMs: 250,
      backoff: { baseMs: 10, capMs: 200 },
      lock: { heartbeatMs: 200, staleAfterMs: 1000 },
      // A budget of 20 (not 5): with batches, one garbled answer
      // (`nonJson`/`malformed` on the batch request) applies 20 ops and
      // charges each an attempt; four more charged failures of such an op
      // end it `exhausted` although applied — an outcome the docs call
      // unknown (idempotency_policy.md, `exhausted`), seen once in six runs
      // of seed 16838 in batch mode under load. The budget makes that
      // improbable, so the check below stays strict: only a malformed 200
      // alone may leave an op applied yet failed.
      extra: { concurrency, batch, backoff: { baseMs: 10, capMs: 200, maxAttempts: 20 } },
    });
    const results: OpResult[] = [];
    const sub = engine.results$.subscribe((r) => results.push(r));
    try {
      const items = buildWorkload({ ops: OPS, seed });
      const manifest = new Map<number, { idempotencyKey: string; createdAt: number }>();
      engine.start();
      for (const w of items) {
        const op = await engine.enqueue({ type: w.type, payload: w.payload });
        manifest.set(w.ref, { idempotencyKey: op.idempotencyKey, createdAt: op.createdAt });
      }
      await waitForIdle(engine, () => results.length, items.length, 45_000);

      const failedRecords = await engine.failedOps.list();
      const failed = failedRecords.map((r) => ({ idempotencyKey: r.op?.idempotencyKey ?? `corrupt:${r.id}`, reason: r.reason }));
      const report = verifyDelivery(enqueuedRefs(items, manifest), backend.applied(), failed, [], { strictFifo });

      expect({ seed, ...deliveryProblems(report, strictFifo) }).toEqual({ seed, ...NOTHING_WRONG });
      expect(report.pending).toEqual([]);
      // Every op has exactly one final outcome, and every failure a reason.
      expect(results).toHaveLength(items.length);
      expect(new Set(results.map((r) => r.opId)).size).toBe(items.length);
      for (const r of results.filter((x) => x.outcome !== 'committed')) {
        expect(r.error?.kind ?? r.reason).toBeDefined();
      }
      expect(failedRecords.every((r) => r.reason.length > 0 && r.error !== null)).toBe(true);
      // Only malformed 200s may be applied yet failed.
      for (const key of report.failedButApplied) {
        expect(failed.find((f) => f.idempotencyKey === key)?.reason).toBe('malformedResponse');
      }
      expect(backend.faults.injected()).not.toEqual({});
      const counts = await store.counts();
      expect(counts.pending).toBe(0);
    } finally {
      sub.unsubscribe();
      await engine.dispose();
      await store.close();
    }
  });
});
