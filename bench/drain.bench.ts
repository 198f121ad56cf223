/**
 * Drain benchmark (`npm run bench -- drain`).
 *
 * 1. Throughput at concurrency 1 against the reference backend on loopback
 *    (no faults) in its own process, beside a raw sequential `fetch` loop
 *    sending the same requests (same headers, bodies, client) in the same
 *    run. The raw loop is the ceiling for strict FIFO one-at-a-time; goal
 *    ≥ 0.8× of it. The engine runs on the memory driver (pipeline cost) and
 *    on SQLite with `synchronous` FULL and NORMAL (durability cost). One
 *    more pair runs with the backend on the client's own thread, as the
 *    first version of this bench did.
 * 2. End-to-end latency (enqueue → committed on results$) p50/p95/p99 with
 *    ops arriving at a steady rate while the engine runs (SQLite FULL).
 * 3. RSS with 100k queued ops (SQLite NORMAL), in a fresh child process,
 *    before and while draining — the drain pages the queue, so memory must
 *    not grow with its length.
 *
 * Both sides use Node's global `fetch` (undici) for the goal rows; the same
 * pair is measured again with `cross-fetch` (node-fetch), the engine's
 * default client when no `fetch` is given.
 *
 * Sizes: BENCH_DRAIN_OPS (default 2000), BENCH_DRAIN_ROUNDS (default 7),
 * BENCH_QUEUED_OPS (default 100000).
 */
import { fork } from 'node:child_process';
import crossFetch from 'cross-fetch';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDemoEngine, openTestStore, type DemoEngine } from '../demo/engine-setup';
import { startReferenceBackend, percentile, type ReferenceBackend } from '../src/testing';
import type { OpStore } from '../src/store/op-store';
import { startBackendProcess } from './backend-process';
import type { BenchOption } from './bench-module';
import { median } from './bench-stats';
import { benchMemoryStore } from './memory-store';

const OPS = Number(process.env.BENCH_DRAIN_OPS ?? 2000);
const QUEUED = Number(process.env.BENCH_QUEUED_OPS ?? 100_000);
const ROUNDS = Number(process.env.BENCH_DRAIN_ROUNDS ?? 7);

/** For `npm run bench -- --help`. */
export const description = 'Drain throughput vs a raw sequential fetch loop (memory, SQLite NORMAL/FULL, cross-fetch), e2e latency, RSS with a queued backlog.';
/** For `npm run bench -- --help`: the sizes read above. */
export const options: readonly BenchOption[] = [
  { env: 'BENCH_DRAIN_OPS', default: '2000', description: 'ops per throughput round' },
  { env: 'BENCH_DRAIN_ROUNDS', default: '7', description: 'throughput rounds (ratios are medians over rounds)' },
  { env: 'BENCH_QUEUED_OPS', default: '100000', description: 'queued ops for the RSS measure' },
];

const payloadOf = (i: number) => ({ id: `b-${i}`, title: `bench todo ${i}` });

/** HTTP clients measured: Node's global `fetch` (undici) and `cross-fetch`, the engine's default (node-fetch on Node). */
type Client = 'global' | 'cross-fetch';
const fetchOf = (client: Client): typeof fetch => (client === 'global' ? fetch : (crossFetch as unknown as typeof fetch));

/** What the measurements need of a backend: its own process (`startBackendProcess`) or this one. */
interface Backend {
  readonly url: string;
  token(): Promise<string>;
  reset(): Promise<void>;
}

const inThisProcess = (b: ReferenceBackend): Backend => ({
  url: b.url,
  token: async () => b.issueToken(3_600_000),
  reset: async () => b.reset(),
});

/**
 * Ops at the start of every throughput run that are sent but not timed, on
 * both sides: the clock starts when the LEAD-th answer arrives and stops at
 * the (LEAD + n)-th, so each rate is the steady drain, not the engine's
 * start-up (lock claim and its 50 ms settle, first read) nor either side's
 * first requests after the other ran.
 */
const LEAD = 200;

/**
 * CPU time of this thread so far, µs: on Linux the main thread's own
 * utime + stime (10 ms ticks), without V8's GC helper threads and
 * without time stolen by the machine's neighbours, so it moves far less
 * from round to round than throughput does; elsewhere the process's
 * `cpuUsage()`.
 */
function threadCpuUs(): number {
  try {
    const fields = readFileSync('/proc/thread-self/stat', 'utf8').split(') ')[1]?.split(' ') ?? [];
    const ticks = Number(fields[11]) + Number(fields[12]);
    if (Number.isFinite(ticks)) return ticks * 10_000;
  } catch {
    // not Linux
  }
  const { user, system } = process.cpuUsage();
  return user + system;
}

/** `cpu`, when given, gets the thread's CPU per timed op (µs). */
async function rawLoop(backend: Backend, n: number, client: Client = 'global', cpu?: number[]): Promise<number> {
  const token = await backend.token();
  const fetchFn = fetchOf(client);
  let t0 = performance.now();
  let c0 = 0;
  for (let i = 0; i < LEAD + n; i += 1) {
    if (i === LEAD) {
      t0 = performance.now();
      c0 = threadCpuUs();
    }
    const res = await fetchFn(`${backend.url}/todos`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${token}`,
        'Idempotency-Key': randomUUID(),
        'Trace-Id': randomUUID(),
        'Content-Type': 'application/json',
      },
      body: JSON.stringify(payloadOf(i)),
    });
    const body = (await res.json()) as { data?: unknown };
    if (res.status !== 201 || body.data === undefined) throw new Error(`raw loop: unexpected ${res.status}`);
  }
  const elapsed = performance.now() - t0;
  cpu?.push((threadCpuUs() - c0) / n);
  return n / (elapsed / 1000);
}

async function engineFor(backend: Backend, store: OpStore, client: Client = 'global'): Promise<DemoEngine> {
  const token = await backend.token();
  return createDemoEngine({
    baseUrl: backend.url,
    store,
    auth: { getToken: async () => token, refreshToken: () => backend.token() },
    // 'cross-fetch': no `fetch` option, the engine's default client.
    ...(client === 'global' ? { fetch: (input: string | URL | Request, init?: RequestInit) => fetch(input, init) } : {}),
    requestTimeoutMs: 10_000,
    backoff: { baseMs: 100, capMs: 1000 },
    lock: { heartbeatMs: 1000, staleAfterMs: 5000 },
  });
}

async function engineDrain(backend: Backend, store: OpStore, n: number, client: Client = 'global', cpu?: number[]): Promise<number> {
  const engine = await engineFor(backend, store, client);
  let committed = 0;
  let failed = 0;
  let done: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  let t0 = 0;
  let c0 = 0;
  const sub = engine.results$.subscribe((r) => {
    if (r.outcome === 'committed') committed += 1;
    else failed += 1;
    if (committed + failed === LEAD) {
      t0 = performance.now();
      c0 = threadCpuUs();
    }
    if (committed + failed >= LEAD + n) done();
  });
  try {
    for (let i = 0; i < LEAD + n; i += 1) await engine.enqueue({ type: 'todo.create', payload: payloadOf(i) });
    engine.start();
    await finished;
    const elapsed = performance.now() - t0;
    cpu?.push((threadCpuUs() - c0) / n);
    if (failed > 0) throw new Error(`drain bench: ${failed} ops did not commit`);
    return n / (elapsed / 1000);
  } finally {
    sub.unsubscribe();
    await engine.dispose();
  }
}

async function latency(backend: Backend, store: OpStore, n: number, ratePerSec: number) {
  const engine = await engineFor(backend, store);
  const started = new Map<string, number>();
  const lat: number[] = [];
  let done: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  const sub = engine.results$.subscribe((r) => {
    const t = started.get(r.opId);
    if (t !== undefined) lat.push(performance.now() - t);
    if (lat.length >= n) done();
  });
  try {
    engine.start();
    const gap = 1000 / ratePerSec;
    const t0 = performance.now();
    for (let i = 0; i < n; i += 1) {
      const wait = t0 + i * gap - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const at = performance.now();
      const op = await engine.enqueue({ type: 'todo.create', payload: payloadOf(i) });
      started.set(op.id, at);
    }
    await finished;
    lat.sort((a, b) => a - b);
    return { p50: percentile(lat, 50), p95: percentile(lat, 95), p99: percentile(lat, 99) };
  } finally {
    sub.unsubscribe();
    await engine.dispose();
  }
}

/** Child process: fill a SQLite store with QUEUED ops, report RSS before and while draining. */
async function rssChild(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sync-engine-rss-'));
  const backend = await startReferenceBackend();
  try {
    const store = await openTestStore(join(dir, 'q.sqlite'), 'NORMAL');
    const engine = await engineFor(inThisProcess(backend), store);
    const gc = (globalThis as { gc?: () => void }).gc;
    const mb = () => {
      gc?.();
      return process.memoryUsage().rss / 1024 / 1024;
    };
    const heap = () => process.memoryUsage().heapUsed / 1024 / 1024;
    const rssEmpty = mb();
    const heapEmpty = heap();
    const t0 = performance.now();
    const BATCH = 200;
    for (let i = 0; i < QUEUED; i += BATCH) {
      const batch = [];
      for (let j = i; j < Math.min(QUEUED, i + BATCH); j += 1) batch.push(engine.enqueue({ type: 'todo.create', payload: payloadOf(j) }));
      await Promise.all(batch);
    }
    const fillSec = (performance.now() - t0) / 1000;
    const rssQueued = mb();
    const heapQueued = heap();
    let committed = 0;
    let peak = 0;
    let heapPeak = 0;
    const sub = engine.results$.subscribe(() => {
      committed += 1;
    });
    engine.start();
    const end = performance.now() + 5000;
    while (performance.now() < end) {
      await new Promise((r) => setTimeout(r, 250));
      peak = Math.max(peak, process.memoryUsage().rss / 1024 / 1024);
      heapPeak = Math.max(heapPeak, heap());
    }
    sub.unsubscribe();
    await engine.dispose();
    const heapAfterDrain = (gc?.(), heap());
    const counts = await store.counts();
    await store.close();
    process.send?.({ rssEmpty, rssQueued, rssDrainPeak: peak, heapEmpty, heapQueued, heapDrainPeak: heapPeak, heapAfterDrain, fillSec, committed, pendingLeft: counts.pending });
  } finally {
    await backend.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function rssInChild(): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const child = fork(__filename, [], {
      execArgv: ['-r', require.resolve('ts-node/register/transpile-only'), '--expose-gc'],
      env: { ...process.env, DRAIN_BENCH_RSS_CHILD: '1', TS_NODE_TRANSPILE_ONLY: 'true' },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let result: Record<string, number> | undefined;
    child.on('message', (m) => {
      result = m as Record<string, number>;
    });
    child.on('exit', (code) => (result ? resolve(result) : reject(new Error(`rss child exited with ${code}`))));
  });
}

export async function run(): Promise<void> {
  // The backend runs in its own process, as a real one does: its CPU and GC
  // are not billed to the client. The session-1 setup (backend on the
  // client's thread) is kept as one pair of rows for comparison.
  const remote = await startBackendProcess();
  const local = await startReferenceBackend({ tokenTtlMs: 3_600_000 });
  const backend: Backend = remote;
  const sameThread = inThisProcess(local);
  const dir = mkdtempSync(join(tmpdir(), 'sync-engine-drain-'));
  const rows: [string, string][] = [];
  const memoryStore = benchMemoryStore;
  try {
    // Warm up client, server and engine code (JIT tiers, sockets): the
    // engine runs far more code than the raw loop and needs longer.
    for (const b of [backend, sameThread]) {
      for (const client of ['global', 'cross-fetch'] as const) {
        await rawLoop(b, 500, client);
        await b.reset();
        for (let i = 0; i < 2; i += 1) {
          const warm = await memoryStore();
          await engineDrain(b, warm, 500, client);
          await warm.close();
          await b.reset();
        }
      }
    }

    // Rounds interleave the raw loop and each engine variant so that noise
    // from a shared machine hits all of them alike. Reported: the median
    // ops/s of each, and the median over rounds of each round's ratio to the
    // raw loop run just before it (a neighbour's burst then skews one round's
    // pair, not the ratio of two medians taken from different rounds).
    const samples = {
      raw: [] as number[],
      mem: [] as number[],
      full: [] as number[],
      normal: [] as number[],
      rawXf: [] as number[],
      memXf: [] as number[],
      rawLocal: [] as number[],
      memLocal: [] as number[],
      // Main-thread CPU per op of the goal pair (µs).
      rawCpu: [] as number[],
      memCpu: [] as number[],
    };
    const drainMemory = async (b: Backend, client: Client = 'global', cpu?: number[]) => {
      const store = await memoryStore();
      try {
        return await engineDrain(b, store, OPS, client, cpu);
      } finally {
        await store.close();
        await b.reset();
      }
    };
    const measure = async (b: Backend, sample: () => Promise<number>) => {
      const x = await sample();
      await b.reset();
      return x;
    };
    const fullStore = await openTestStore(join(dir, 'full.sqlite'), 'FULL');
    const normalStore = await openTestStore(join(dir, 'normal.sqlite'), 'NORMAL');
    for (let round = 0; round < ROUNDS; round += 1) {
      samples.raw.push(await measure(backend, () => rawLoop(backend, OPS, 'global', samples.rawCpu)));
      samples.mem.push(await drainMemory(backend, 'global', samples.memCpu));
      samples.full.push(await measure(backend, () => engineDrain(backend, fullStore, OPS)));
      samples.normal.push(await measure(backend, () => engineDrain(backend, normalStore, OPS)));
      // The same comparison with the engine's default client on both sides.
      samples.rawXf.push(await measure(backend, () => rawLoop(backend, OPS, 'cross-fetch')));
      samples.memXf.push(await drainMemory(backend, 'cross-fetch'));
      // The backend on the client's own thread (how session 1 measured).
      samples.rawLocal.push(await measure(sameThread, () => rawLoop(sameThread, OPS)));
      samples.memLocal.push(await drainMemory(sameThread));
    }
    await normalStore.close();
    const roundRatios = (xs: number[], base: number[]) => xs.map((x, i) => x / (base[i] as number)).sort((a, b) => a - b);
    const lat = await latency(backend, fullStore, Math.min(OPS, 500), 100);
    await fullStore.close();

    const f = (xs: number[]) => median(xs).toFixed(0);
    // The median of the per-round ratios, and their range: one run's median
    // moves by several hundredths on a shared machine, the range shows how far.
    const ratio = (xs: number[], base: number[] = samples.raw) => {
      const r = roundRatios(xs, base);
      return `${median(r).toFixed(2)}× [rounds ${(r[0] as number).toFixed(2)}–${(r[r.length - 1] as number).toFixed(2)}]`;
    };
    const goalRounds = roundRatios(samples.mem, samples.raw).filter((r) => r >= 0.8).length;
    rows.push(['raw sequential fetch loop', `${f(samples.raw)} ops/s`]);
    rows.push(['engine drain, memory driver', `${f(samples.mem)} ops/s (${ratio(samples.mem)} raw; goal ≥ 0.80×, met in ${goalRounds} of ${ROUNDS} rounds)`]);
    const extraCpu = median(samples.memCpu.map((c, i) => c - (samples.rawCpu[i] as number)));
    rows.push([
      'main-thread CPU per op, raw / engine',
      `${median(samples.rawCpu).toFixed(0)} / ${median(samples.memCpu).toFixed(0)} µs (engine +${extraCpu.toFixed(0)} µs, median of per-round differences)`,
    ]);
    rows.push(['engine drain, SQLite FULL', `${f(samples.full)} ops/s (${ratio(samples.full)} raw)`]);
    rows.push(['engine drain, SQLite NORMAL', `${f(samples.normal)} ops/s (${ratio(samples.normal)} raw)`]);
    rows.push(['raw sequential loop, cross-fetch', `${f(samples.rawXf)} ops/s (the engine's default client)`]);
    rows.push(['engine drain, memory, default client', `${f(samples.memXf)} ops/s (${ratio(samples.memXf, samples.rawXf)} the cross-fetch loop)`]);
    rows.push(['raw loop, backend on the same thread', `${f(samples.rawLocal)} ops/s`]);
    rows.push(['engine, memory, backend same thread', `${f(samples.memLocal)} ops/s (${ratio(samples.memLocal, samples.rawLocal)} that raw loop)`]);
    rows.push(['e2e latency @100 ops/s, SQLite FULL', `p50 ${lat.p50.toFixed(1)} / p95 ${lat.p95.toFixed(1)} / p99 ${lat.p99.toFixed(1)} ms`]);

    const rss = await rssInChild();
    const m = (x: number | undefined) => `${(x ?? 0).toFixed(0)} MB`;
    rows.push([`RSS / heap, engine, empty queue`, `${m(rss.rssEmpty)} / ${m(rss.heapEmpty)} (process includes ts-node + TypeScript)`]);
    rows.push([`RSS / heap, ${QUEUED} ops queued`, `${m(rss.rssQueued)} / ${m(rss.heapQueued)} (SQLite NORMAL, filled in ${(rss.fillSec ?? 0).toFixed(1)} s)`]);
    rows.push([`RSS / heap peak, draining 5 s`, `${m(rss.rssDrainPeak)} / ${m(rss.heapDrainPeak)} (${rss.committed} committed, ${rss.pendingLeft} left)`]);
    rows.push([`heap after the drain, after GC`, m(rss.heapAfterDrain)]);
  } finally {
    await remote.close();
    await local.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const w = Math.max(...rows.map((r) => r[0].length));
  console.log(
    `${OPS} ops per throughput run, ${ROUNDS} interleaved rounds (medians; ratios: median of per-round ratios [their range]), loopback, backend in its own process, no faults, concurrency 1\n`,
  );
  for (const [k, v] of rows) console.log(`  ${k.padEnd(w)}  ${v}`);
}

if (require.main === module && process.env.DRAIN_BENCH_RSS_CHILD === '1') {
  rssChild().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
