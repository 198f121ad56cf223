/**
 * SQLite lock contention with a frozen writer: another process takes the
 * write lock (BEGIN IMMEDIATE + a write) and is frozen with SIGSTOP, so it
 * keeps the lock. This process's store must wait for it without stalling
 * its event loop — the driver used to wait in a synchronous 5 s
 * `busy_timeout`, freezing everything else for those 5 s per call — and must
 * give up with a typed `StorageError('busy')` when the lock stays taken past
 * `busyRetryMs`. Event-loop delay is read with `monitorEventLoopDelay`; the
 * bound asserted (1 s) is far above the new waits (≤ 20 ms busy timeout per
 * try) and far below the old one (5 s).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createSqliteOpStore } from '../../src/node';
import { StorageError } from '../../src/errors/sync-error';
import { generateStoreKey } from '../../src/crypto/record-cipher';
import { makeOps } from '../store/support/ops';
import type { PendingOp } from '../../src/op/pending-op';

jest.setTimeout(30_000);

/** A block this long is only the old synchronous busy wait (5 s; measured 5.8 s): half of it leaves room for a loaded box. */
const FAR_BELOW_OLD_BUSY_TIMEOUT_MS = 2_500;

const HOLDER = `
const Database = require(${JSON.stringify(require.resolve('better-sqlite3'))});
const db = new Database(process.argv[1]);
db.exec('BEGIN IMMEDIATE');
db.prepare('INSERT INTO "lf_meta" (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run('holder', '"x"');
process.stdout.write('held\\n', () => process.kill(process.pid, 'SIGSTOP'));
`;

/** Start a process that takes the database's write lock and freezes (SIGSTOP) holding it. */
function frozenWriter(path: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['-e', HOLDER, path], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`holder exited with ${code}`)));
    child.stdout!.once('data', () => resolve(child));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('SQLite store while another process, frozen, holds the write lock', () => {
  let dir: string;
  let holder: ChildProcess | undefined;
  let key: CryptoKey;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sync-engine-busy-'));
    key = await generateStoreKey();
  });
  afterEach(() => {
    holder?.kill('SIGKILL');
    holder = undefined;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function seeded(name: string, ops: readonly PendingOp[]): Promise<string> {
    const path = join(dir, name);
    const seed = await createSqliteOpStore(path, { encryptionKey: key });
    for (const op of ops) await seed.append(op);
    await seed.close();
    return path;
  }

  it('opens and writes once the holder is gone, without ever blocking the event loop for long', async () => {
    const [a, b] = makeOps(2) as [PendingOp, PendingOp];
    const path = await seeded('wait.sqlite', [a]);
    holder = await frozenWriter(path);
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const written = (async () => {
      const store = await createSqliteOpStore(path, { encryptionKey: key });
      await store.append(b);
      return store;
    })();
    // The holder stays frozen for 1.5 s, then dies (the OS drops its lock;
    // its uncommitted write is rolled back).
    await sleep(1_500);
    holder.kill('SIGKILL');
    const store = await written;
    await sleep(20); // let the delay monitor sample once more
    delay.disable();
    expect(delay.max / 1e6).toBeLessThan(FAR_BELOW_OLD_BUSY_TIMEOUT_MS);
    expect((await store.peek(5)).map((o) => o.id)).toEqual([a.id, b.id]);
    expect(await store.readMeta('holder')).toBeUndefined();
    await store.close();
  });

  it('gives up after busyRetryMs with StorageError(busy), writes nothing, and works again once the lock is free', async () => {
    const [a, b, c] = makeOps(3) as [PendingOp, PendingOp, PendingOp];
    const path = await seeded('give-up.sqlite', [a]);
    const store = await createSqliteOpStore(path, { encryptionKey: key, busyRetryMs: 300 });
    holder = await frozenWriter(path);
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const err = await store.append(b).then(
      () => undefined,
      (e: unknown) => e,
    );
    await sleep(20);
    delay.disable();
    expect(err).toBeInstanceOf(StorageError);
    expect(err).toMatchObject({ reason: 'busy', code: 'busy', retryable: true });
    expect(delay.max / 1e6).toBeLessThan(FAR_BELOW_OLD_BUSY_TIMEOUT_MS);

    holder.kill('SIGKILL');
    await new Promise((r) => holder!.once('exit', r));
    holder = undefined;
    await store.append(c);
    expect((await store.peek(5)).map((o) => o.id)).toEqual([a.id, c.id]);
    await store.close();
  });
});
