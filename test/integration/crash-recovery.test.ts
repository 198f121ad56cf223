/**
 * Crash recovery: an engine in a child process is SIGKILLed at chosen and
 * random points — right after the server committed but before the client
 * heard (its ledger write), mid-request before the commit, and at a random
 * time (often mid-store-write) — and restarted against the same SQLite
 * store, several times in a row. Afterwards every op is applied exactly
 * once (or parked with its reason), FIFO order per entity holds in the
 * server's log, and recovery (restart → processing again) is measured.
 *
 * Run three times: strict FIFO (the default), with `concurrency: 8`, and with batches of 20 ×
 * concurrency 4, over routes keyed per entity — then the server's log is in enqueue order per
 * entity (not as a whole).
 *
 * SYNC_CRASH_KILLS=n runs n kills (default 4, one per kill point); SYNC_CRASH_SEED picks the seed.
 */
import { verifyDelivery, mulberry32 } from '../../src/testing';
import { buildWorkload } from '../../demo/workload';
import { spawnWorker } from '../../demo/worker-handle';
import type { EnqueuedEntry } from '../../demo/protocol';
import { enqueuedRefs, envInt, waitForEmptyQueue, waitUntil, workerConfig, workerFixture, deliveryProblems, NOTHING_WRONG } from './support/harness';

const KILLS = envInt('SYNC_CRASH_KILLS', 4);
const SEED = envInt('SYNC_CRASH_SEED', 20261127);
// Each kill needs up to ~12 more commits; keep ops ahead of the kills.
const OPS = Math.max(120, KILLS * 20);
/**
 * - afterCommit: in the server, after the commit and before the answer is written.
 * - midRequest: the request has reached the server; killed before any commit.
 * - afterAnswer: just after the answer went out — the client is reading it
 *   and writing its ledger / removing the op (mid-store-write).
 * - randomTime: a random moment of the drain.
 */
type KillMode = 'afterCommit' | 'midRequest' | 'afterAnswer' | 'randomTime';
const MODES: readonly KillMode[] = ['afterCommit', 'midRequest', 'afterAnswer', 'randomTime'];

jest.setTimeout(60_000 + KILLS * 40_000);

/** The engine modes the suite runs in. */
const ENGINE_MODES = [
  { mode: 'strict FIFO', concurrency: undefined, batch: undefined, strictFifo: true },
  { mode: 'concurrency 8', concurrency: 8, batch: undefined, strictFifo: false },
  { mode: 'batch 20 x concurrency 4', concurrency: 4, batch: { path: '/batch', maxOps: 20 }, strictFifo: false },
] as const;

describe.each(ENGINE_MODES)('crash recovery (SIGKILL, same SQLite store), $mode', ({ concurrency, batch, strictFifo }) => {
  const fx = workerFixture('crash');

  test(`${KILLS} kills (after commit, mid-request, after answer, random): exactly once, FIFO per entity, recovery measured (seed ${SEED})`, async () => {
    const random = mulberry32(SEED);
    // Full batches of 20, 4 on the wire, drain 120 ops in a few round
    // trips: sooner than four kill points land in it. A longer backlog keeps
    // ops to kill in.
    const items = buildWorkload({ ops: batch === undefined ? OPS : OPS * 5, seed: SEED });
    const base = workerConfig(fx.backend, fx.dir.path, { name: 'gen-0', concurrency, batch });
    // Every request takes a few ms, so the drain is long enough to be killed in.
    fx.backend.faults.rule(() => ({ kind: 'latency', ms: 4 }));

    let worker = spawnWorker(base);
    fx.workers.push(worker);
    await worker.ready;
    const { entries, rejected } = await worker.enqueue(items.map((w) => ({ ref: w.ref, type: w.type, payload: w.payload })));
    expect(rejected).toEqual([]);
    const manifest = new Map<number, EnqueuedEntry>(entries.map((e) => [e.ref, e]));
    worker.send({ t: 'start' });

    const recoveries: { mode: KillMode; spawnToCommitMs: number; killToCommitMs: number }[] = [];
    for (let k = 0; k < KILLS; k += 1) {
      const mode = MODES[k % MODES.length] as KillMode;
      const victim = worker;
      let killedAt = 0;
      const kill = () => {
        if (killedAt === 0) {
          victim.kill();
          killedAt = Date.now();
        }
      };
      const target = fx.backend.applied().length + 3 + Math.floor(random() * 10);
      const offEffect =
        mode === 'afterCommit'
          ? fx.backend.onEffect((e) => (e.seq >= target ? kill() : undefined))
          : mode === 'afterAnswer'
            ? fx.backend.onEffect((e) => {
                // The answer is written right after this listener returns.
                if (e.seq >= target) setImmediate(kill);
              })
            : () => undefined;
      if (mode === 'midRequest') {
        // The request has reached the server; the client dies before any answer, then the request is dropped.
        fx.backend.faults.rule((req) => (req.method !== 'GET' && fx.backend.applied().length >= target - 1 && killedAt === 0 ? (kill(), { kind: 'reset' }) : { kind: 'latency', ms: 4 }));
      }
      if (mode === 'randomTime') {
        await waitUntil(() => fx.backend.applied().length >= target - 5, 30_000, 'progress before a random kill');
        await new Promise((r) => setTimeout(r, Math.floor(random() * 60)));
        kill();
      }
      await waitUntil(() => killedAt !== 0, 20_000, `kill point ${mode}`);
      offEffect();
      fx.backend.faults.rule(() => ({ kind: 'latency', ms: 4 }));
      const exit = await victim.exited;
      expect(exit.signal).toBe('SIGKILL');

      worker = spawnWorker({ ...base, name: `gen-${k + 1}`, autoStart: true });
      fx.workers.push(worker);
      const committed = worker.waitFor('committed', undefined, 30_000);
      const lock = await worker.waitFor('lockAcquired', undefined, 30_000);
      const first = await committed;
      expect(lock.takeover).toBe(true);
      recoveries.push({ mode, spawnToCommitMs: first.at - worker.spawnedAt, killToCommitMs: first.at - killedAt });
    }

    const rep = await waitForEmptyQueue(worker, 30_000);
    await worker.stop();

    const failed = rep.failed.map((f) => ({ idempotencyKey: f.idempotencyKey ?? 'corrupt', reason: f.reason }));
    const report = verifyDelivery(enqueuedRefs(items, manifest), fx.backend.applied(), failed, rep.pendingKeys, { strictFifo });
    expect(deliveryProblems(report, strictFifo)).toEqual(NOTHING_WRONG);
    expect(rep.pendingKeys).toEqual([]);
    expect(rep.failed.every((f) => f.idempotencyKey !== null && f.reason.length > 0)).toBe(true);
    // The workload's own 400s and stale updates are the only expected failures.
    const expectedToApply = items.filter((w) => w.expect === 'apply').length;
    expect(report.appliedOnce).toBe(expectedToApply);
    expect(report.ok).toBe(true);

    // Each kill between commit and answer left an op the server applied but
    // the client never heard of: the restarted engine re-sent it with the
    // same key and got the stored answer replayed — no second effect.
    const afterCommitKills = recoveries.filter((r) => r.mode === 'afterCommit').length;
    expect(fx.backend.counters().replays).toBeGreaterThanOrEqual(afterCommitKills);

    // Every restart got back to committing (its duration is the demo's and
    // the bench's to report: a wall-clock bound fails on a loaded box).
    for (const r of recoveries) expect(r.spawnToCommitMs).toEqual(expect.any(Number));
    // eslint-disable-next-line no-console
    console.log(`crash recovery, ${concurrency ?? 1} at once (seed ${SEED}): ${recoveries.map((r) => `${r.mode} ${r.spawnToCommitMs} ms`).join(', ')}`);
  });
});
