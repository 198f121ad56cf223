import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ReferenceBackend } from '../../../src/testing';
import type { WorkerConfig } from '../../../demo/protocol';
import type { WorkItem } from '../../../demo/workload';

/** A temp directory removed by `cleanup()`. */
export function tempDir(prefix: string): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), `sync-engine-${prefix}-`));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

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
