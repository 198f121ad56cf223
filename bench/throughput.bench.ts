/**
 * Throughput benchmark (`npm run bench -- throughput`): a backlog drained by strict FIFO, concurrency 8, batches of 100 and batches × 4, each beside its raw fetch counterpart.
 *
 * A backlog of BENCH_THROUGHPUT_OPS ops (default 10 000) over
 * BENCH_THROUGHPUT_ENTITIES todos (default 200; op i touches todo i mod 200:
 * a create, then updates) is enqueued, then drained against the reference
 * backend in its own process, which holds every HTTP request for an
 * injected latency (0 and 50 ms: a simulated round trip; a batch waits
 * once). Four engine modes, each beside its raw counterpart measured in the
 * same run with the same requests:
 *
 * | engine                                   | raw counterpart                                  |
 * | ---------------------------------------- | ------------------------------------------------ |
 * | strict FIFO (default options)            | a sequential fetch loop                          |
 * | `concurrency: 8`, `orderKey` = todo id   | 8 loops in flight, each over its own todos       |
 * | `batch: { path: '/batch', maxOps: 100 }` | a sequential loop of the same batch bodies       |
 * | batch 100 × `concurrency: 4`             | 4 batch loops in flight, each over its own todos |
 *
 * The raw loops keep per-todo order as the engine must: a todo's ops go
 * through one loop, in enqueue order (a loop with several in flight over
 * the whole backlog would send a todo's update beside its create). With
 * 200 todos, 4 batch loops send 100-op bodies of 50 todos × 2 ops each.
 *
 * Each run is a window: the clock starts at the first answer (both sides)
 * and stops when the backlog is drained or BENCH_THROUGHPUT_WINDOW_MS has
 * passed, so strict FIFO at 50 ms (~20 ops/s) is measured on the first
 * ops of the backlog instead of for eight minutes. Goals at 50 ms:
 * batching ≥ 50× strict FIFO (≥ 1 000 ops/s), concurrency 8 ≥ 6× strict
 * FIFO, every engine mode ≥ 0.8× its raw counterpart. Then, in a fresh
 * child process with `--expose-gc`: heap growth while draining all
 * BENCH_THROUGHPUT_HEAP_OPS queued ops (default 100 000, SQLite NORMAL, at
 * 0 ms, the backend in its own process, the engine's Node client
 * `nodeFetch`) with concurrency 8; goal < 30 MB.
 * The drain is CPU-bound there; BENCH_THROUGHPUT_HEAP_MAX_MS (420 s) only
 * guards against a stall, and the row says how many ops were drained.
 *
 * The engine's rate limit is off (as in the drain bench): with the default
 * (200 requests/s after a 1 000-request burst) concurrency 8 at 0 ms would
 * measure the limiter, not the drain (`docs/api_envelope.md`, "Rate
 * limiting counts requests, not ops").
 */
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Todo, TodoCreate, TodoUpdate, withoutId } from '../demo/codecs';
import { openTestStore } from '../demo/engine-setup';
import { createSyncEngine } from '../src/create-sync-engine';
import type { FetchLike } from '../src/api/http-transport';
import { nodeFetch } from '../src/node';
import { defineRoutes } from '../src/router/op-router';
import type { OpStore } from '../src/store/op-store';
import { startBackendProcess, type BackendProcess } from './backend-process';
import type { BenchOption } from './bench-module';
import { median, spread } from './bench-stats';
import { benchMemoryStore } from './memory-store';

const num = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);
const OPS = num('BENCH_THROUGHPUT_OPS', 10_000);
const ENTITIES = num('BENCH_THROUGHPUT_ENTITIES', 200);
const WINDOW_MS = num('BENCH_THROUGHPUT_WINDOW_MS', 2000);
const REPEATS = num('BENCH_THROUGHPUT_REPEATS', 3);
const LATENCIES = (process.env.BENCH_THROUGHPUT_LATENCIES ?? '0,50').split(',').map(Number);
const HEAP_OPS = num('BENCH_THROUGHPUT_HEAP_OPS', 100_000);
const HEAP_MAX_MS = num('BENCH_THROUGHPUT_HEAP_MAX_MS', 420_000);
const BATCH_OPS = 100;

/** A short id for one run's todos (ids are [A-Za-z0-9_-]{1,64}). */
const runTag = (): string => randomUUID().slice(0, 8);

/** For `npm run bench -- --help`. */
export const description = 'Backlog drain at 0 and 50 ms latency: strict FIFO, concurrency 8, batch 100, batch × 4, each vs its raw fetch counterpart; heap while draining.';
/** For `npm run bench -- --help`: the sizes read above. */
export const options: readonly BenchOption[] = [
  { env: 'BENCH_THROUGHPUT_OPS', default: '10000', description: 'ops in the backlog' },
  { env: 'BENCH_THROUGHPUT_ENTITIES', default: '200', description: 'todos the backlog touches (the orderKey)' },
  { env: 'BENCH_THROUGHPUT_WINDOW_MS', default: '2000', description: 'longest timed window per run, ms' },
  { env: 'BENCH_THROUGHPUT_REPEATS', default: '3', description: 'runs per row (medians; spreads shown)' },
  { env: 'BENCH_THROUGHPUT_LATENCIES', default: '0,50', description: 'injected per-request latencies, ms' },
  { env: 'BENCH_THROUGHPUT_HEAP_OPS', default: '100000', description: 'queued ops for the heap measure (concurrency 8)' },
  { env: 'BENCH_THROUGHPUT_HEAP_MAX_MS', default: '420000', description: 'longest heap-measure drain, ms (a stall guard: the whole backlog is the measure)' },
];

/**
 * The engine options of a mode, as the batching contract names them
 * (`concurrency`, `batch`). Passed by spreading, so this file typechecks
 * before the engine has them; an engine without them drains strict FIFO.
 */
interface EngineMode {
  readonly concurrency?: number;
  readonly batch?: { readonly path: string; readonly maxOps: number };
}

interface Mode {
  readonly name: string;
  readonly raw: string;
  readonly engine: EngineMode;
  /** Requests the raw counterpart keeps in flight. */
  readonly inFlight: number;
  /** Ops per raw request: 1 = single requests, else batch bodies. */
  readonly perRequest: number;
}

const MODES: readonly Mode[] = [
  { name: 'strict FIFO', raw: 'raw sequential loop', engine: {}, inFlight: 1, perRequest: 1 },
  { name: 'concurrency 8', raw: 'raw loop, 8 in flight', engine: { concurrency: 8 }, inFlight: 8, perRequest: 1 },
  { name: `batch ${BATCH_OPS}`, raw: 'raw sequential batch loop', engine: { batch: { path: '/batch', maxOps: BATCH_OPS } }, inFlight: 1, perRequest: BATCH_OPS },
  {
    name: `batch ${BATCH_OPS} × concurrency 4`,
    raw: 'raw batch loop, 4 in flight',
    engine: { batch: { path: '/batch', maxOps: BATCH_OPS }, concurrency: 4 },
    inFlight: 4,
    perRequest: BATCH_OPS,
  },
];

/**
 * Op i of a run's backlog: todo i mod ENTITIES, created by its first op,
 * then updated. `run` makes the ids unique per run: a request the previous
 * run left in flight (an engine is disposed mid-drain) must not land on
 * this run's todos.
 */
function opAt(i: number, run: string): { readonly type: 'todo.create' | 'todo.update'; readonly payload: { id: string; title: string } } {
  const id = `${run}-${i % ENTITIES}`;
  const round = Math.floor(i / ENTITIES);
  return round === 0 ? { type: 'todo.create', payload: { id, title: `todo ${id}` } } : { type: 'todo.update', payload: { id, title: `v${round}` } };
}

/** The wire request the engine sends for op i (its route's method, path and `toWire`). */
function wireAt(i: number, run: string): { method: string; path: string; body: unknown } {
  const op = opAt(i, run);
  return op.type === 'todo.create'
    ? { method: 'POST', path: '/todos', body: op.payload }
    : { method: 'PATCH', path: `/todos/${op.payload.id}`, body: withoutId(op.payload) };
}

/** The routes the engine runs with; `orderKey` (the todo id) is spread in for the same reason as `EngineMode`. */
const orderKey = { orderKey: (p: { id: string }) => p.id };
const benchRoutes = defineRoutes({
  'todo.create': { method: 'POST', path: '/todos', payload: TodoCreate, response: Todo, ...orderKey },
  'todo.update': { method: 'PATCH', path: '/todos/:id', payload: TodoUpdate, response: Todo, toWire: withoutId, ...orderKey },
});

/**
 * The timed window of one run: the clock starts once `lead` ops are
 * answered (one full round of requests: 1 for FIFO, 8 for 8 in flight, 100
 * for a batch — so neither side is billed for its start-up or credited with
 * its first round), and stops when every op is answered or `WINDOW_MS`
 * later. The rate counts the ops answered after the start.
 */
class Window {
  #t0 = 0;
  #t1 = 0;
  #count = 0;
  #atStart = 0;
  #resolve: () => void = () => undefined;
  readonly done = new Promise<void>((resolve) => {
    this.#resolve = resolve;
  });

  constructor(
    private readonly total: number,
    private readonly lead: number,
  ) {}

  get over(): boolean {
    return this.#t1 > 0;
  }

  /** `n` more ops answered. */
  record(n: number): void {
    if (this.over) return;
    const now = performance.now();
    this.#count += n;
    if (this.#t0 === 0) {
      if (this.#count < Math.min(this.lead, this.total)) return;
      this.#t0 = now;
      this.#atStart = this.#count;
    }
    if (this.#count >= this.total || now - this.#t0 >= WINDOW_MS) {
      this.#t1 = now;
      this.#resolve();
    }
  }

  /** Ops per second over the window. */
  rate(): number {
    return (this.#count - this.#atStart) / Math.max(1e-3, (this.#t1 - this.#t0) / 1000);
  }
}

const leadOf = (mode: Mode): number => mode.perRequest * mode.inFlight;

/**
 * The ops worker `w` of `workers` sends, in enqueue order: those of its own
 * todos (todo mod `workers` = `w`). A correct client may not have two
 * requests of one todo out at once — an update could overtake its create —
 * so the raw loops, like the engine, keep each todo's ops in one line; the
 * static split by todo is the best such a client can do (no dispatcher).
 */
function opsOfWorker(w: number, workers: number): number[] {
  const mine: number[] = [];
  for (let i = 0; i < OPS; i += 1) if ((i % ENTITIES) % workers === w) mine.push(i);
  return mine;
}

/**
 * The raw counterpart: `inFlight` workers over disjoint sets of todos,
 * each sending its todos' ops in enqueue order (single requests, or batch
 * bodies of `perRequest` consecutive ops of its own todos — several of one
 * todo together, as the server applies a batch in order).
 */
async function rawRun(backend: BackendProcess, mode: Mode): Promise<number> {
  const token = await backend.token();
  const win = new Window(OPS, leadOf(mode));
  const run = runTag();
  const headers = (extra: Record<string, string>) => ({ Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', ...extra });
  const worker = async (mine: readonly number[]): Promise<void> => {
    for (let at = 0; !win.over && at < mine.length; ) {
      const slice = mine.slice(at, at + mode.perRequest);
      at += slice.length;
      if (mode.perRequest === 1) {
        const w = wireAt(slice[0] as number, run);
        const res = await fetch(`${backend.url}${w.path}`, {
          method: w.method,
          headers: headers({ 'Idempotency-Key': randomUUID(), 'Trace-Id': randomUUID() }),
          body: JSON.stringify(w.body),
        });
        const body = (await res.json()) as { data?: unknown };
        if (res.status >= 300 || body.data === undefined) throw new Error(`raw loop: unexpected ${res.status}`);
      } else {
        const ops = slice.map((i) => ({ idempotencyKey: randomUUID(), traceId: randomUUID(), ...wireAt(i, run) }));
        const res = await fetch(`${backend.url}/batch`, { method: 'POST', headers: headers({}), body: JSON.stringify({ ops }) });
        const body = (await res.json()) as { results?: { status: number; data?: unknown }[] };
        if (res.status !== 200 || body.results?.length !== ops.length || body.results.some((r) => r.status >= 300 || r.data === undefined)) {
          throw new Error(`raw batch loop: unexpected ${res.status}`);
        }
      }
      win.record(slice.length);
    }
  };
  await Promise.all(Array.from({ length: mode.inFlight }, (_, w) => worker(opsOfWorker(w, mode.inFlight))));
  return win.rate();
}

function engineOn(url: string, store: OpStore, token: string, refresh: () => Promise<string>, mode: EngineMode, client?: FetchLike) {
  return createSyncEngine({
    baseUrl: url,
    routes: benchRoutes,
    store,
    auth: { getToken: async () => token, refreshToken: refresh },
    fetch: client ?? ((input: string | URL | Request, init?: RequestInit) => fetch(input, init)),
    requestTimeoutMs: 10_000,
    backoff: { baseMs: 100, capMs: 1000 },
    lock: { heartbeatMs: 1000, staleAfterMs: 5000 },
    rateLimit: false,
    tokenRefreshSkewMs: 2000,
    ...(mode as object),
  });
}

/**
 * Enqueue the backlog in groups of concurrent calls (the store commits a
 * group at once: ~5× faster than one by one). A group never holds two ops
 * of one todo (at most ENTITIES ops), so whatever order the calls of a
 * group land in, each todo's create comes before its updates.
 */
async function fill(engine: { enqueue(input: ReturnType<typeof opAt>): Promise<unknown> }, n: number, run: string): Promise<void> {
  const group = Math.max(1, Math.min(200, ENTITIES));
  for (let i = 0; i < n; i += group) {
    const calls = [];
    for (let j = i; j < Math.min(n, i + group); j += 1) calls.push(engine.enqueue(opAt(j, run)));
    await Promise.all(calls);
  }
}

/** The engine in `mode`: enqueue the backlog, start, time the window, dispose. */
async function engineRun(backend: BackendProcess, mode: Mode): Promise<number> {
  const store = await benchMemoryStore();
  const token = await backend.token();
  const engine = engineOn(backend.url, store, token, () => backend.token(), mode.engine);
  const win = new Window(OPS, leadOf(mode));
  let failed = 0;
  const sub = engine.results$.subscribe((r) => {
    if (r.outcome !== 'committed') failed += 1;
    win.record(1);
  });
  const run = runTag();
  try {
    await fill(engine, OPS, run);
    engine.start();
    await win.done;
    if (failed > 0) throw new Error(`throughput bench (${mode.name}): ${failed} ops did not commit`);
    return win.rate();
  } finally {
    sub.unsubscribe();
    await engine.dispose();
    await store.close();
  }
}


/**
 * Child process: SQLite NORMAL store filled with HEAP_OPS ops; the live heap
 * before and while draining them all with concurrency 8 (up to
 * HEAP_MAX_MS). The backend runs in its own process, as for the rows above:
 * its effects and stored answers for 100,000 ops are not the engine's heap.
 */
async function heapChild(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sync-engine-throughput-'));
  const backend = await startBackendProcess();
  try {
    const store = await openTestStore(join(dir, 'q.sqlite'), 'NORMAL');
    // The engine's own client on Node (no raw counterpart to match here): ~25% less CPU per op than the global fetch.
    const engine = engineOn(backend.url, store, await backend.token(), () => backend.token(), { concurrency: 8 }, nodeFetch());
    const gc = (globalThis as { gc?: () => void }).gc;
    const heap = () => process.memoryUsage().heapUsed / 1024 / 1024;
    const t0 = performance.now();
    await fill(engine, HEAP_OPS, 'heap');
    const fillSec = (performance.now() - t0) / 1000;
    gc?.();
    const heapQueued = heap();
    let committed = 0;
    let heapPeak = heapQueued;
    let failed = 0;
    const sub = engine.results$.subscribe((r) => {
      committed += 1;
      if (r.outcome !== 'committed') failed += 1;
    });
    const d0 = performance.now();
    const cpu0 = process.cpuUsage();
    engine.start();
    // The live heap: after a full GC each time, so garbage V8 has not
    // collected yet is not counted as growth. Once a second: a full GC of
    // this heap takes tens of ms, billed to the drain.
    while (committed < HEAP_OPS && performance.now() - d0 < HEAP_MAX_MS) {
      await new Promise((r) => setTimeout(r, 1000));
      gc?.();
      heapPeak = Math.max(heapPeak, heap());
    }
    const drainSec = (performance.now() - d0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    sub.unsubscribe();
    await engine.dispose();
    await store.close();
    const { duplicated } = await backend.stats();
    const cpuMsPerOp = (cpu.user + cpu.system) / 1000 / Math.max(1, committed);
    process.send?.({ heapQueued, heapPeak, fillSec, drainSec, committed, failed, duplicated, cpuMsPerOp });
  } finally {
    await backend.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function heapInChild(): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const child = fork(__filename, [], {
      execArgv: ['-r', require.resolve('ts-node/register/transpile-only'), '--expose-gc'],
      env: { ...process.env, THROUGHPUT_BENCH_HEAP_CHILD: '1', TS_NODE_TRANSPILE_ONLY: 'true' },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let result: Record<string, number> | undefined;
    child.on('message', (m) => {
      result = m as Record<string, number>;
    });
    child.on('exit', (code) => (result ? resolve(result) : reject(new Error(`heap child exited with ${code}`))));
  });
}

export async function run(): Promise<void> {
  const backend = await startBackendProcess();
  const rows: [string, string][] = [];
  let duplicated = 0;
  let runs = 0;
  try {
    // Warm up client, server and engine code (JIT tiers, sockets).
    for (const mode of MODES) {
      await rawRun(backend, mode);
      await backend.reset();
      await engineRun(backend, mode);
      await backend.reset();
    }
    for (const latencyMs of LATENCIES) {
      await backend.latency(latencyMs);
      const engine = new Map<Mode, number[]>(MODES.map((m) => [m, []]));
      const raw = new Map<Mode, number[]>(MODES.map((m) => [m, []]));
      const ratios = new Map<Mode, number[]>(MODES.map((m) => [m, []]));
      // Repeats interleave the raw run and the engine run of each mode, so a
      // neighbour's burst hits a pair, and a ratio is taken within a repeat.
      for (let rep = 0; rep < REPEATS; rep += 1) {
        for (const mode of MODES) {
          const r = await rawRun(backend, mode);
          await backend.reset();
          const e = await engineRun(backend, mode);
          const stats = await backend.stats();
          duplicated += stats.duplicated;
          runs += 1;
          await backend.reset();
          raw.get(mode)?.push(r);
          engine.get(mode)?.push(e);
          ratios.get(mode)?.push(e / r);
        }
      }
      const fifo = median(engine.get(MODES[0] as Mode) ?? []);
      rows.push([`— latency ${latencyMs} ms —`, '']);
      for (const mode of MODES) {
        const e = engine.get(mode) ?? [];
        const r = raw.get(mode) ?? [];
        const q = ratios.get(mode) ?? [];
        rows.push([`  ${mode.raw}`, `${median(r).toFixed(0)} ops/s [${spread(r, 0)}]`]);
        const vsFifo = mode === MODES[0] ? '' : `, ${(median(e) / fifo).toFixed(1)}× strict FIFO`;
        rows.push([`  engine ${mode.name}`, `${median(e).toFixed(0)} ops/s [${spread(e, 0)}] = ${median(q).toFixed(2)}× raw [${spread(q, 2)}]${vsFifo}`]);
      }
      if (latencyMs === 50) {
        const of = (i: number) => median(engine.get(MODES[i] as Mode) ?? []);
        const worst = Math.min(...MODES.map((m) => median(ratios.get(m) ?? [])));
        rows.push(['  goals @50 ms', `batch ${(of(2) / fifo).toFixed(1)}× FIFO (≥ 50×), ${of(2).toFixed(0)} ops/s (≥ 1 000); concurrency 8 ${(of(1) / fifo).toFixed(1)}× FIFO (≥ 6×); worst engine/raw ${worst.toFixed(2)}× (≥ 0.80×)`]);
      }
    }
    await backend.latency(0);
  } finally {
    await backend.close();
  }
  rows.push(['duplicate effects', `${duplicated} in ${runs} engine runs (keys applied more than once)`]);
  const heap = HEAP_OPS > 0 ? await heapInChild() : {};
  const mb = (x: number | undefined) => `${(x ?? 0).toFixed(1)} MB`;
  if (HEAP_OPS > 0) {
    const all = (heap.committed ?? 0) >= HEAP_OPS ? 'all' : `only ${heap.committed} of ${HEAP_OPS} (the ${HEAP_MAX_MS / 1000} s cap ended it)`;
    rows.push([
      `heap growth, draining ${HEAP_OPS} ops (concurrency 8)`,
      `${mb((heap.heapPeak ?? 0) - (heap.heapQueued ?? 0))} (goal < 30 MB; live heap after GC, sampled every 1 s): ${mb(heap.heapQueued)} queued → peak ${mb(heap.heapPeak)}`,
    ]);
    rows.push([
      '  drained',
      `${all} answered (${heap.failed} not committed, ${heap.duplicated} duplicated) in ${(heap.drainSec ?? 0).toFixed(1)} s = ${((heap.committed ?? 0) / Math.max(1e-3, heap.drainSec ?? 0)).toFixed(0)} ops/s, ${(heap.cpuMsPerOp ?? 0).toFixed(2)} ms CPU per op (SQLite NORMAL, nodeFetch, filled in ${(heap.fillSec ?? 0).toFixed(1)} s, backend in its own process)`,
    ]);
  }
  const w = Math.max(...rows.map((r) => r[0].length));
  console.log(
    `${OPS}-op backlog over ${ENTITIES} todos, windows ≤ ${WINDOW_MS} ms from the first round of answers, ${REPEATS} interleaved repeats (medians [spread]; ratios: median of per-repeat engine/raw), backend in its own process, memory store, rate limit off\n`,
  );
  for (const [k, v] of rows) console.log(`  ${k.padEnd(w)}  ${v}`);
}

if (require.main === module && process.env.THROUGHPUT_BENCH_HEAP_CHILD === '1') {
  heapChild().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
