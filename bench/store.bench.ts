/**
 * Store benchmark (`npm run bench -- store`), all on the SQLite driver
 * (WAL, synchronous=FULL, the Node default):
 *
 * 1. `append` p50/p99 next to a raw `localforage.setItem` of a record of the
 *    same size on the same driver, same run, alternating op by op (ratio;
 *    goal ≤ 1.5×, the append including validation + AES-GCM sealing);
 * 2. the same with several concurrent callers, each appending sequentially;
 * 3. `peek(100)` latency at 10k / 100k / 1M pending, at the head and paging
 *    from the middle (`afterId`);
 * 4. peak heap above baseline while opening, counting and paging a store
 *    with the largest queue (goal < 50 MB).
 *
 * Large queues are filled with real sealed records (same key, same AAD) by
 * bulk transactions on a second connection: a million fsynced `append`s
 * would take hours and measure nothing new.
 *
 * Env: STORE_BENCH_MAX_PENDING caps the largest queue (default 1000000);
 * STORE_BENCH_APPENDS sets the number of timed appends (default 3000).
 */
import Database from 'better-sqlite3';
import localforage from 'localforage';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createOpStore } from '../src/store/create-op-store';
import { generateStoreKey, RecordCipher } from '../src/crypto/record-cipher';
import { webCryptoAesGcm } from '../src/crypto/aes-gcm-engine';
import { defineSqliteDriver } from '../src/node/sqlite-driver';
import { createSqliteOpStore, nodeAesGcm } from '../src/node';
import { createIdempotencyKey } from '../src/idempotency/idempotency-key';
import { createOpId, createTraceId } from '../src/op/ids';
import type { PendingOp } from '../src/op/pending-op';
import type { BenchOption } from './bench-module';
import { ms as msOf, printTable, quantile } from './bench-stats';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const MAX_PENDING = Number(process.env.STORE_BENCH_MAX_PENDING ?? 1_000_000);
const APPENDS = Number(process.env.STORE_BENCH_APPENDS ?? 3000);

/** For `npm run bench -- --help`. */
export const description = 'Store on SQLite: append vs raw setItem (1 and 8 callers), peek(100) at 10k/100k/1M pending, peak heap.';
/** For `npm run bench -- --help`: the sizes read above. */
export const options: readonly BenchOption[] = [
  { env: 'STORE_BENCH_MAX_PENDING', default: '1000000', description: 'largest queue measured' },
  { env: 'STORE_BENCH_APPENDS', default: '3000', description: 'timed appends' },
];
const CALLERS = 8;

function makeOp(i: number): PendingOp {
  return {
    schemaVersion: 1,
    id: createOpId(),
    type: 'todo.update',
    // ~300 bytes of payload: a typical small mutation.
    payload: { id: `todo-${i}`, title: `Buy milk and eggs #${i}`, done: i % 2 === 0, notes: 'n'.repeat(200), tags: ['home', 'errand'] },
    idempotencyKey: createIdempotencyKey(),
    traceId: createTraceId(),
    txToken: `tx-${i}`,
    createdAt: 1_700_000_000_000 + i,
    attempts: 0,
    nextAttemptAt: null,
  };
}

const pct = (samples: readonly number[], p: number): number => quantile(samples, p / 100);

const ms = (v: number): string => msOf(v, 3);
const mb = (v: number): string => `${(v / 1024 / 1024).toFixed(1)} MB`;


async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sync-engine-bench-'));
  try {
    const driver = await defineSqliteDriver();
    const key = await generateStoreKey();
    const cipher = new RecordCipher(key, nodeAesGcm);
    const rows: string[][] = [['measure', 'store', 'raw setItem', 'ratio (goal ≤ 1.5×)']];

    // --- 1 & 2: append vs raw setItem, same driver, same file, same run -------
    const path = join(dir, 'append.sqlite');
    // The Node default: SQLite, WAL, synchronous=FULL, node:crypto AES-GCM.
    const store = await createSqliteOpStore(path, { encryptionKey: key });
    // The same file through the portable Web Crypto engine, for comparison.
    const webStore = await createOpStore({ name: path, driver, encryptionKey: key, aesGcm: webCryptoAesGcm });
    const raw = localforage.createInstance({ name: path, storeName: 'raw_bench', driver });
    await raw.ready();
    const sample = makeOp(0);
    const sealedSize = (await cipher.seal('pending_ops', sample.id, JSON.stringify(sample))).length;
    const sameBytes = 'x'.repeat(sealedSize);

    const storeLat: number[] = [];
    const webLat: number[] = [];
    const rawLat: number[] = [];
    // Alternate one op at a time so disk and neighbour-load drift (this
    // machine is shared) hits every side alike.
    for (let i = 0; i < APPENDS; i++) {
      const op = makeOp(i);
      storeLat.push(await timed(() => store.append(op)));
      const k = createOpId();
      rawLat.push(await timed(() => raw.setItem(k, sameBytes)));
      const web = makeOp(i);
      webLat.push(await timed(() => webStore.append(web)));
    }
    for (const p of [50, 99]) {
      const s = pct(storeLat, p);
      const r = pct(rawLat, p);
      rows.push([`append p${p} (1 caller, ${APPENDS} ops)`, ms(s), ms(r), `${(s / r).toFixed(2)}×`]);
    }
    for (const p of [50, 99]) {
      const s = pct(webLat, p);
      const r = pct(rawLat, p);
      rows.push([`append p${p}, Web Crypto engine (1 caller)`, ms(s), ms(r), `${(s / r).toFixed(2)}×`]);
    }

    const concurrent = async (write: (i: number) => Promise<unknown>): Promise<number[]> => {
      const lat: number[] = [];
      const per = Math.floor(APPENDS / CALLERS);
      await Promise.all(
        Array.from({ length: CALLERS }, async (_, c) => {
          for (let i = 0; i < per; i++) lat.push(await timed(() => write(c * per + i)));
        }),
      );
      return lat;
    };
    const cStore = await concurrent((i) => store.append(makeOp(i)));
    const cRaw = await concurrent(() => raw.setItem(createOpId(), sameBytes));
    for (const p of [50, 99]) {
      const s = pct(cStore, p);
      const r = pct(cRaw, p);
      rows.push([`append p${p} (${CALLERS} concurrent callers)`, ms(s), ms(r), `${(s / r).toFixed(2)}×`]);
    }
    await store.close();
    await webStore.close();
    printTable(rows);
    console.log(`(record: ${sealedSize} bytes sealed; SQLite WAL, synchronous=FULL)`);

    // --- 3 & 4: peek(100) at 10k / 100k / 1M pending, heap at the largest ----
    const sizes = [10_000, 100_000, 1_000_000].filter((n) => n <= MAX_PENDING);
    if (!sizes.includes(MAX_PENDING) && MAX_PENDING < 1_000_000) sizes.push(MAX_PENDING);
    const big = join(dir, 'big.sqlite');
    // Create the tables (and canary) with the store itself, then fill in bulk.
    await (await createSqliteOpStore(big, { encryptionKey: key })).close();
    const bulk = new Database(big);
    bulk.pragma('journal_mode = WAL');
    const insert = bulk.prepare('INSERT INTO "lf_pending_ops" (key, value) VALUES (?, ?)');
    const insertMany = bulk.transaction((recs: Array<[string, string]>) => {
      for (const [k, v] of recs) insert.run(k, v);
    });
    let filled = 0;
    let fillMs = 0;
    const peekRows: string[][] = [['pending', 'peek(100) head p50', 'peek(100) head p99', 'peek(100, afterId) mid p50', 'fill time']];
    let heapLine = '';
    for (const target of sizes) {
      const t0 = performance.now();
      while (filled < target) {
        const n = Math.min(10_000, target - filled);
        const ops = Array.from({ length: n }, (_, i) => makeOp(filled + i));
        const sealed = await Promise.all(ops.map(async (op) => [op.id, JSON.stringify(await cipher.seal('pending_ops', op.id, JSON.stringify(op)))] as [string, string]));
        insertMany(sealed);
        filled += n;
      }
      fillMs += performance.now() - t0;
      bulk.pragma('wal_checkpoint(TRUNCATE)');

      const isLargest = target === sizes[sizes.length - 1];
      gc();
      const baseline = process.memoryUsage().heapUsed;
      let peak = baseline;
      const sampleHeap = (): void => {
        peak = Math.max(peak, process.memoryUsage().heapUsed);
      };
      const s = await createSqliteOpStore(big, { encryptionKey: key });
      sampleHeap();
      const counts = await s.counts();
      sampleHeap();
      if (counts.pending !== target) throw new Error(`expected ${target} pending, found ${counts.pending}`);
      const head: number[] = [];
      for (let i = 0; i < 50; i++) {
        head.push(await timed(() => s.peek(100)));
        sampleHeap();
      }
      const midKey = (bulk.prepare('SELECT key FROM "lf_pending_ops" ORDER BY key LIMIT 1 OFFSET ?').get(Math.floor(target / 2)) as { key: string }).key;
      const mid: number[] = [];
      let cursor = midKey;
      for (let i = 0; i < 50; i++) {
        let page: readonly PendingOp[] = [];
        mid.push(await timed(async () => (page = await s.peek(100, cursor as PendingOp['id']))));
        cursor = page[page.length - 1]?.id ?? midKey;
        sampleHeap();
      }
      if (isLargest) {
        // Page through 20k ops (200 pages) as a draining pipeline would.
        let after: string | undefined;
        for (let i = 0; i < 200; i++) {
          const page = await s.peek(100, after as PendingOp['id'] | undefined);
          after = page[page.length - 1]?.id;
          sampleHeap();
        }
        heapLine = `peak heap above baseline with ${target.toLocaleString('en')} pending (open + counts + 300 peek pages): ${mb(peak - baseline)} (goal < 50 MB; heapUsed sampled after each call, baseline after gc)`;
      }
      await s.close();
      peekRows.push([target.toLocaleString('en'), ms(pct(head, 50)), ms(pct(head, 99)), ms(pct(mid, 50)), `${(fillMs / 1000).toFixed(1)} s cumulative`]);
    }
    bulk.close();
    console.log('');
    printTable(peekRows);
    console.log('');
    console.log(heapLine);
    if (MAX_PENDING < 1_000_000) console.log(`(capped at ${MAX_PENDING} pending by STORE_BENCH_MAX_PENDING)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
