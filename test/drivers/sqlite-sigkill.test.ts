import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqliteOpStore } from '../../src/node';
import type { PendingOp } from '../../src/op/pending-op';
import { makeOps } from '../store/support/ops';

/**
 * The real thing on the Node driver: a child process is SIGKILLed between
 * the two writes of complete / fail / retry, then the file is reopened here.
 * (The crash-repair suite covers every cut on every driver in-process.)
 */
describe('SQLite store killed with SIGKILL between two writes', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sync-engine-kill-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function killChild(path: string, step: string, ops: readonly PendingOp[], writes: number): void {
    const opsFile = join(dir, `${step}.json`);
    writeFileSync(opsFile, JSON.stringify(ops));
    const r = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', join(__dirname, 'fixtures', 'kill-mid-write.ts'), path, step, opsFile, String(writes)], {
      cwd: join(__dirname, '..', '..'),
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.signal).toBe('SIGKILL');
    expect(r.stdout).not.toContain('survived');
  }

  // On SQLite, complete is one transaction (ledger entry + removal).
  it.each([0, 1])('complete killed after %i write(s): the op is pending and unknown to the ledger, or gone and in it', async (writes) => {
    const path = join(dir, `complete-${writes}.sqlite`);
    const [a, b] = makeOps(2) as [PendingOp, PendingOp];
    const seed = await createSqliteOpStore(path);
    await seed.append(a);
    await seed.append(b);
    await seed.close();

    killChild(path, 'complete', [a], writes);
    const after = await createSqliteOpStore(path, { now: () => 1_700_000_000_000 });
    expect(await after.peek(5)).toEqual(writes === 0 ? [a, b] : [b]);
    expect(await after.isCompleted(a.idempotencyKey)).toBe(writes === 1);
    await after.close();
  });

  it('fail: the op is dead-lettered and gone from pending', async () => {
    const path = join(dir, 'fail.sqlite');
    const [a, b] = makeOps(2) as [PendingOp, PendingOp];
    const seed = await createSqliteOpStore(path);
    await seed.append(a);
    await seed.append(b);
    await seed.close();

    killChild(path, 'fail', [a], 1);
    const after = await createSqliteOpStore(path);
    expect(await after.peek(5)).toEqual([b]);
    expect((await after.failed.list()).map((r) => [r.op?.id, r.reason, r.error])).toEqual([[a.id, 'permanent', { kind: 'permanent', status: 422 }]]);
    await after.close();
  });

  it('retry: exactly one copy, in pending, same idempotency key', async () => {
    const path = join(dir, 'retry.sqlite');
    const [a, b] = makeOps(2) as [PendingOp, PendingOp];
    const seed = await createSqliteOpStore(path);
    await seed.append(a);
    await seed.append(b);
    await seed.fail(a, { reason: 'exhausted', error: { kind: 'server' }, failedAt: 1 });
    await seed.close();

    // Killed after the intent and the new pending op were written.
    killChild(path, 'retry', [a], 2);
    const after = await createSqliteOpStore(path);
    const pending = await after.peek(5);
    expect(pending.map((o) => o.idempotencyKey)).toEqual([b.idempotencyKey, a.idempotencyKey]);
    expect(await after.failed.list()).toEqual([]);
    await after.close();
  });
});
