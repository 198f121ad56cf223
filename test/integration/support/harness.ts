import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EngineStatus, EngineCore } from '../../../src/engine/sync-engine';
import { startReferenceBackend, type DeliveryReport, type ReferenceBackend, type ReferenceBackendOptions } from '../../../src/testing';
import type { FromWorker, WorkerConfig } from '../../../demo/protocol';
import type { WorkerHandle } from '../../../demo/worker-handle';
import type { WorkItem } from '../../../demo/workload';

/** A temp directory removed by `cleanup()`. */
export function tempDir(prefix: string): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), `sync-engine-${prefix}-`));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

/** What a fixture of `workerFixture` holds for the running test. */
export interface WorkerFixture {
  backend: ReferenceBackend;
  dir: { path: string; cleanup: () => void };
  /** Worker processes to kill (and await) after the test. */
  readonly workers: WorkerHandle[];
}

/**
 * Per test: a fresh reference backend and temp dir; afterwards every worker
 * in `workers` is killed and awaited, the backend closed, the dir removed.
 */
export function workerFixture(prefix: string, backendOptions?: ReferenceBackendOptions): WorkerFixture {
  const fx = { workers: [] as WorkerHandle[] } as unknown as WorkerFixture;
  beforeEach(async () => {
    fx.backend = await startReferenceBackend(backendOptions);
    fx.dir = tempDir(prefix);
  });
  afterEach(async () => {
    for (const w of fx.workers.splice(0)) {
      w.kill();
      await w.exited;
    }
    await fx.backend.close();
    fx.dir.cleanup();
  });
  return fx;
}

/**
 * The invariants of a delivery report; equal to `NOTHING_WRONG` when
 * exactly-once and FIFO hold. With `strictFifo` false (concurrency: order
 * per entity only, `order`), whole-log FIFO is not an invariant: `fifo` is 0.
 */
export function deliveryProblems(report: DeliveryReport, strictFifo = true): Record<string, unknown> {
  return {
    lost: report.lost,
    duplicated: report.duplicated,
    order: report.orderViolations,
    fifo: strictFifo ? report.fifoViolations : 0,
    misrouted: report.misrouted,
    foreign: report.foreignEffects,
  };
}

export const NOTHING_WRONG = { lost: [], duplicated: [], order: [], fifo: 0, misrouted: [], foreign: 0 };

/** Worker config for tests: fast backoff, short lock timings, loopback backend. */
export function workerConfig(backend: ReferenceBackend, dir: string, overrides: Partial<WorkerConfig> = {}): WorkerConfig {
  return {
    name: 'w',
    baseUrl: backend.url,
    refreshCredential: backend.refreshCredential,
    storePath: join(dir, 'queue.sqlite'),
    keyB64: randomBytes(32).toString('base64'),
    requestTimeoutMs: 1000,
    backoff: { baseMs: 20, capMs: 300 },
    lock: { heartbeatMs: 250, staleAfterMs: 1000 },
    online: true,
    autoStart: false,
    progressMs: 50,
    ...overrides,
  };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Poll every 25 ms until `cond()` or `timeoutMs`; throws with `what` on timeout. */
export async function waitUntil(cond: () => boolean, timeoutMs: number, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
}

/** The verifyDelivery view of enqueued work items. */
export function enqueuedRefs(
  items: readonly WorkItem[],
  entries: ReadonlyMap<number, { idempotencyKey: string; createdAt: number }>,
): { idempotencyKey: string; createdAt: number; entity: string; order: number }[] {
  return items.flatMap((w) => {
    const e = entries.get(w.ref);
    return e ? [{ idempotencyKey: e.idempotencyKey, createdAt: e.createdAt, entity: `${w.resource}/${w.entityId}`, order: w.ref }] : [];
  });
}

/** An env var as a positive integer, else the default. */
export function envInt(name: string, fallback: number): number {
  const n = Number(process.env[name]);
  return Number.isInteger(n) && n > 0 ? n : fallback;
}

/**
 * Wait until the engine has emitted `n` results and is idle (empty queue,
 * nothing in flight). Results and status are separate streams, so both are
 * polled rather than filtered in one pipe (status may settle first).
 */
export async function waitForIdle(engine: EngineCore, results: () => number, n: number, timeoutMs: number): Promise<EngineStatus> {
  let status: EngineStatus | undefined;
  const sub = engine.status$.subscribe((s) => {
    status = s;
  });
  try {
    await waitUntil(
      () => results() >= n && status !== undefined && status.pending === 0 && status.inFlight === undefined,
      timeoutMs,
      `${n} results and an idle engine`,
    );
    return status as EngineStatus;
  } finally {
    sub.unsubscribe();
  }
}

/**
 * Ask the worker for reports until its store's pending queue is empty and
 * nothing is in flight (the store is the truth; a worker's status counts
 * only what its own process saw). Returns the final report.
 */
export async function waitForEmptyQueue(worker: WorkerHandle, timeoutMs: number): Promise<Extract<FromWorker, { t: 'report' }>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const rep = await worker.report();
    if (rep.pendingKeys.length === 0 && !rep.progress.inFlight) return rep;
    if (Date.now() > end) throw new Error(`queue not empty after ${timeoutMs} ms (${rep.pendingKeys.length} pending)`);
    await sleep(200);
  }
}
