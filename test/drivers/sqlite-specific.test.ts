import localforage from 'localforage';
import { mkdtempSync, rmSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { defineSqliteDriver } from '../../src/node/sqlite-driver';
import { createSqliteOpStore, loadOrCreateKeyFile } from '../../src/node';
import type { RangeCapableForage } from '../../src/drivers/range-driver';
import { StorageError } from '../../src/errors/sync-error';
import { makeOp, makeOps } from '../store/support/ops';

describe('SQLite driver and Node entry', () => {
  let dir: string;
  let driver: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sync-engine-sqlite-'));
    driver = await defineSqliteDriver();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const dbOf = (f: LocalForage): Database.Database => (f as unknown as { _dbInfo: { conn: { db: Database.Database } } })._dbInfo.conn.db;

  it('runs in WAL mode with synchronous=FULL and serves ranges from the primary key index', async () => {
    const f = localforage.createInstance({ name: join(dir, 'a.sqlite'), storeName: 'kv', driver }) as RangeCapableForage;
    await f.setItem('b', { x: 1 });
    const db = dbOf(f);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('synchronous', { simple: true })).toBe(2); // FULL
    const plan = db.prepare('EXPLAIN QUERY PLAN SELECT key, value FROM "lf_kv" WHERE key > ? ORDER BY key LIMIT ?').all('a', 5) as Array<{ detail: string }>;
    expect(plan.map((p) => p.detail).join(' ')).toMatch(/SEARCH lf_kv USING PRIMARY KEY \(key>\?\)/);
    expect(plan.map((p) => p.detail).join(' ')).not.toMatch(/TEMP B-TREE/);
    expect(await f.getItem('b')).toEqual({ x: 1 });
    await f.closeInstance!();
  });

  it('counts from a key-only index, not by scanning every sealed value; a file from an older build gets the index at its first open', async () => {
    const path = join(dir, 'count.sqlite');
    // An older build's table: no index.
    const old = new Database(path);
    old.exec('CREATE TABLE "lf_kv" (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) WITHOUT ROWID');
    old.prepare('INSERT INTO "lf_kv" (key, value) VALUES (?, ?)').run('a', JSON.stringify('x'.repeat(500)));
    old.close();
    const f = localforage.createInstance({ name: path, storeName: 'kv', driver }) as RangeCapableForage;
    expect(await f.length()).toBe(1);
    const plan = dbOf(f).prepare('EXPLAIN QUERY PLAN SELECT COUNT(*) AS n FROM "lf_kv"').all() as Array<{ detail: string }>;
    expect(plan.map((p) => p.detail).join(' ')).toMatch(/USING COVERING INDEX lf_kv_keys/);
    await f.closeInstance!();
  });

  it('a store completes an op with one setAndRemove (one commit), not a ledger write and a removal', async () => {
    const base = (await localforage.getDriver(driver)) as unknown as Record<string, (...a: unknown[]) => unknown>;
    const calls: string[] = [];
    const saved = new Map<string, (...a: unknown[]) => unknown>();
    for (const m of ['setItem', 'removeItem', 'setAndRemove']) {
      const orig = base[m]!;
      saved.set(m, orig);
      base[m] = function (this: unknown, ...args: unknown[]) {
        calls.push(m);
        return orig.apply(this, args);
      };
    }
    try {
      const store = await createSqliteOpStore(join(dir, 'one-commit.sqlite'));
      const [a, b] = makeOps(2) as [ReturnType<typeof makeOp>, ReturnType<typeof makeOp>];
      await store.append(a);
      await store.append(b);
      calls.length = 0;
      // A recent completion: the prune this first complete starts removes nothing.
      await store.complete(a, Date.now());
      expect(calls).toEqual(['setAndRemove']);
      expect((await store.peek(5)).map((o) => o.id)).toEqual([b.id]);
      expect(await store.isCompleted(a.idempotencyKey)).toBe(true);
      await store.close();
    } finally {
      for (const [m, f] of saved) base[m] = f;
    }
  });

  it('maps SQLITE_FULL to StorageError(quota) and leaves the queue as it was', async () => {
    const path = join(dir, 'full.sqlite');
    // 9 pages hold the schema, the four tables and their key indexes.
    const store = await createSqliteOpStore(path, { pragmas: ['max_page_count = 16'] });
    const kept: string[] = [];
    let err: unknown;
    for (let i = 0; i < 200 && !err; i++) {
      const op = makeOp({ payload: { blob: 'z'.repeat(2000), i } });
      err = await store.append(op).then(
        () => void kept.push(op.id),
        (e: unknown) => e,
      );
    }
    expect(err).toBeInstanceOf(StorageError);
    expect(err).toMatchObject({ reason: 'quota' });
    expect(kept.length).toBeGreaterThan(0);
    expect((err as StorageError).message).not.toContain('zzz');
    expect(await store.counts()).toEqual({ pending: kept.length, failed: 0 });
    expect((await store.peek(500)).map((o) => o.id)).toEqual(kept);
    await store.close();
  });

  it('rolls back a whole group commit on SQLITE_FULL: only resolved appends are stored', async () => {
    const store = await createSqliteOpStore(join(dir, 'full-batch.sqlite'), { pragmas: ['max_page_count = 18'] });
    const ops = Array.from({ length: 60 }, (_, i) => makeOp({ payload: { blob: 'z'.repeat(2000), i } }));
    const stored: string[] = [];
    const failures: unknown[] = [];
    // Waves of 6 concurrent appends, each wave one transaction.
    for (let i = 0; i < ops.length; i += 6) {
      const wave = ops.slice(i, i + 6);
      const results = await Promise.allSettled(wave.map((op) => store.append(op)));
      results.forEach((r, j) => (r.status === 'fulfilled' ? stored.push(wave[j]!.id) : failures.push(r.reason)));
    }
    expect(failures.length).toBeGreaterThan(0);
    expect(stored.length).toBeGreaterThan(0);
    for (const f of failures) expect(f).toMatchObject({ name: 'StorageError', reason: 'quota' });
    expect((await store.peek(100)).map((o) => o.id)).toEqual(stored);
    await store.close();
  });

  it('creates the key file once (0600), reuses it, and agrees under concurrent first use', async () => {
    const file = join(dir, 'k.key');
    const keys = await Promise.all([1, 2, 3].map(() => loadOrCreateKeyFile(file)));
    if (process.platform !== 'win32') expect(statSync(file).mode & 0o777).toBe(0o600);
    const iv = new Uint8Array(12);
    const ct = await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, keys[0]!, new TextEncoder().encode('x'));
    for (const k of keys) {
      expect(k.extractable).toBe(false);
      await expect(crypto.subtle.decrypt({ name: 'AES-GCM', iv }, k, ct)).resolves.toBeDefined();
    }
  });

  it('opens a store on a file with its own key file and reopens it', async () => {
    const path = join(dir, 'q.sqlite');
    const ops = makeOps(3);
    const store = await createSqliteOpStore(path);
    for (const op of ops) await store.append(op);
    await store.close();
    expect(existsSync(`${path}.key`)).toBe(true);
    const again = await createSqliteOpStore(path);
    expect(await again.peek(5)).toEqual(ops);
    await again.close();
    // A different key file is a wrong key, not an empty queue.
    await expect(createSqliteOpStore(path, { keyFile: join(dir, 'other.key') })).rejects.toMatchObject({ reason: 'wrongKey' });
  });
});
