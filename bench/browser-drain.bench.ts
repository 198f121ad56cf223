/**
 * Browser drain benchmark in Chromium (`npm run bench -- browser-drain`).
 *
 * playwright-core drives Debian's chromium (`test/browser/chromium-page-server.ts`
 * bundles `bench/browser-drain-page.ts` and serves it on 127.0.0.1). A whole
 * engine on Chromium's IndexedDB (default device key, default options)
 * against a minimal loopback server answering `POST /todos` with 201, in
 * one run, beside the limits it is measured against from the same page:
 *
 * 1. enqueue p50/p99 (one after another, engine stopped) vs a raw
 *    IndexedDB `put` of a string as long as a sealed op (one transaction
 *    each, awaited), interleaved rounds;
 * 2. drain ops/s vs a raw sequential `fetch` loop sending the same requests
 *    (same headers and bodies), at 0 and 50 ms added server latency,
 *    interleaved rounds, each timed after LEAD untimed ops; at 0 ms also
 *    the same engine on the memory driver (the pipeline without
 *    IndexedDB) and on IndexedDB with an app lock (no fence read per
 *    send), and where each side's time per request goes;
 * 3. with 10,000 ops queued in IndexedDB: enqueue p50/p99, reload → first
 *    send (engine idle before the reload, and mid-drain: the old page's
 *    lock must be handed over), and the page's JS heap after GC (CDP).
 *
 * Goals (issue 15): drain ≥ 0.85× the raw loop at 0 ms, enqueue p99 ≤ 1.5×
 * the raw put. BENCH_PROFILE=1 adds a CDP CPU profile of one drain (top
 * self time). Skipped with a notice where chromium is missing.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { BrowserContext, CDPSession, Page } from 'playwright-core';
import { percentile } from '../src/testing';
import { chromiumAvailable, launchChromiumOnDisk, servePage, type PageServer } from '../test/browser/chromium-page-server';
import type { BenchOption } from './bench-module';
import { median, spread } from './bench-stats';
import { childCpuMs } from './child-cpu';
import type { DrainBenchPage } from './browser-drain-page';

const OPS = Number(process.env.BENCH_BROWSER_OPS ?? 600);
const ROUNDS = Number(process.env.BENCH_BROWSER_ROUNDS ?? 5);
const SLOW_OPS = Number(process.env.BENCH_BROWSER_SLOW_OPS ?? 100);
const QUEUED = Number(process.env.BENCH_BROWSER_QUEUED ?? 10_000);
const ENQUEUES = Number(process.env.BENCH_BROWSER_ENQUEUES ?? 300);
const PROFILE = process.env.BENCH_PROFILE === '1';

/** For `npm run bench -- --help`. */
export const description = 'Chromium: enqueue vs raw IndexedDB put, drain vs a raw fetch loop (0 and 50 ms latency), 10,000 queued (enqueue, reload → first send, heap).';
/** For `npm run bench -- --help`: the sizes read above. */
export const options: readonly BenchOption[] = [
  { env: 'BENCH_BROWSER_OPS', default: '600', description: 'ops per drain run at 0 ms' },
  { env: 'BENCH_BROWSER_ROUNDS', default: '5', description: 'interleaved rounds (0 ms drain, enqueue); 3 at 50 ms' },
  { env: 'BENCH_BROWSER_SLOW_OPS', default: '100', description: 'ops per drain run at 50 ms latency' },
  { env: 'BENCH_BROWSER_QUEUED', default: '10000', description: 'ops queued for the backlog rows' },
  { env: 'BENCH_BROWSER_ENQUEUES', default: '300', description: 'timed enqueues (and raw puts) per round' },
  { env: 'BENCH_PROFILE', default: '0', description: '1: CPU profile of one engine drain (top self time)' },
];

/** Untimed ops at the start of every drain run, on both sides (start-up, lock claim, first read). */
const LEAD = 100;

/** Server state the bench sets between runs. */
const server = { latencyMs: 0, posts: 0, firstPostAt: 0 };

function answer(req: IncomingMessage, res: ServerResponse): boolean {
  if (req.method !== 'POST' || req.url !== '/todos') return false;
  let body = '';
  req.on('data', (c: Buffer) => (body += c.toString()));
  req.on('end', () => {
    server.posts += 1;
    if (server.firstPostAt === 0) server.firstPostAt = performance.now();
    const reply = () => res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ data: JSON.parse(body) as unknown }));
    if (server.latencyMs > 0) setTimeout(reply, server.latencyMs);
    else reply();
  });
  return true;
}

type Api = DrainBenchPage;
const call = <K extends keyof Api>(page: Page, fn: K, ...args: Parameters<Api[K]>): Promise<Awaited<ReturnType<Api[K]>>> =>
  page.evaluate(
    ([f, a]) => {
      const o = (globalThis as unknown as { drainBench: Record<string, (...x: unknown[]) => unknown> }).drainBench;
      return o[f as string]!(...(a as unknown[]));
    },
    [fn, args] as const,
  ) as Promise<Awaited<ReturnType<Api[K]>>>;

const pct = (xs: readonly number[], p: number) => percentile([...xs].sort((a, b) => a - b), p);
const range = (xs: readonly number[], digits = 2) => spread(xs, digits);

let storeSeq = 0;
const freshName = () => `bench-${Date.now()}-${++storeSeq}`;

/** Chromium's CPU per op (all its processes, ms) of each 0 ms run, by side; empty off Linux. */
const cpuPerOp = { raw: [] as number[], engine: [] as number[], memory: [] as number[], unfenced: [] as number[] };

/** `run()`, adding Chromium's CPU per op over it (`ops` requests) to `into`. */
async function withCpu<T>(into: number[] | undefined, ops: number, run: () => Promise<T>): Promise<T> {
  const before = childCpuMs();
  const out = await run();
  const after = childCpuMs();
  if (into && before !== undefined && after !== undefined) into.push((after - before) / ops);
  return out;
}

/** One engine drain of `lead + n` ops on a fresh store: ops/s. */
/** IndexedDB transactions per op of each IndexedDB drain at 0 ms, by scope and mode. */
const txPerOp: Array<Record<string, number>> = [];

async function engineDrain(page: Page, lead: number, n: number, split?: Split[], memory = false, unfenced = false, cpu?: number[]): Promise<number> {
  await call(page, 'open', freshName(), memory, unfenced);
  await call(page, 'fill', lead + n);
  const rate = await withCpu(cpu ?? (split && cpuPerOp.engine), lead + n, () => call(page, 'drain', lead, n));
  if (split) {
    split.push(await call(page, 'requestSplit', lead));
    const counts = await call(page, 'transactionCounts');
    txPerOp.push(Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, v / (lead + n)])));
  }
  await call(page, 'close');
  return rate;
}

type Split = { requestMs: number; gapMs: number };

async function rawLoop(page: Page, lead: number, n: number, split?: Split[]): Promise<number> {
  const rate = await withCpu(split && cpuPerOp.raw, lead + n, () => call(page, 'rawLoop', lead, n));
  split?.push(await call(page, 'requestSplit', lead));
  return rate;
}

/** Used JS heap of the page after a full GC, MB. */
async function heapMb(cdp: CDPSession): Promise<number> {
  await cdp.send('HeapProfiler.collectGarbage');
  const { usedSize } = (await cdp.send('Runtime.getHeapUsage')) as { usedSize: number };
  return usedSize / 1024 / 1024;
}

/** CPU profile of one engine drain: the functions with the most self time. */
async function profileDrain(page: Page, cdp: CDPSession): Promise<string[]> {
  await call(page, 'open', freshName());
  await call(page, 'fill', LEAD + OPS);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
  await cdp.send('Profiler.start');
  await call(page, 'drain', LEAD, OPS);
  const { profile } = (await cdp.send('Profiler.stop')) as {
    profile: { nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>; samples: number[]; timeDeltas: number[] };
  };
  await call(page, 'close');
  const self = new Map<string, number>();
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  profile.samples.forEach((id, i) => {
    const f = byId.get(id)!.callFrame;
    const key = `${f.functionName || '(anonymous)'} ${f.url.split('/').pop()}:${f.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 15)
    .map(([k, us]) => `${((100 * us) / total).toFixed(1).padStart(5)}%  ${k}`);
}

export async function run(): Promise<void> {
  if (!chromiumAvailable) {
    console.log('skipped: no chromium (set CHROMIUM_PATH)');
    return;
  }
  let pageServer: PageServer | undefined;
  let context: BrowserContext | undefined;
  const rows: [string, string][] = [];
  // A profile on disk: IndexedDB in files, as in a user's browser.
  const profileDir = mkdtempSync(join(tmpdir(), 'sync-engine-chromium-'));
  try {
    pageServer = await servePage(join(__dirname, 'browser-drain-page.ts'), answer);
    context = await launchChromiumOnDisk(profileDir);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(pageServer.url);
    const cdp = await context.newCDPSession(page);

    // Warm-up: JIT tiers, the connection, IndexedDB's first writes.
    await call(page, 'rawLoop', 50, 150);
    await engineDrain(page, 50, 150);

    // 1. Enqueue vs a raw put of a record of the same size.
    const sizeProbe = freshName();
    await call(page, 'open', sizeProbe);
    await call(page, 'fill', 1);
    const size = await call(page, 'recordLength', sizeProbe);
    await call(page, 'close');
    const enq = { raw: [] as number[], engine: [] as number[], seal: [] as number[], append: [] as number[], p50Ratio: [] as number[], p99Ratio: [] as number[] };
    for (let round = 0; round < ROUNDS; round++) {
      const raw = await call(page, 'rawPutTimes', ENQUEUES, size);
      await call(page, 'open', freshName());
      const eng = await call(page, 'enqueueTimes', ENQUEUES);
      enq.append.push(...(await call(page, 'appendTimes', ENQUEUES)));
      await call(page, 'close');
      enq.seal.push(...(await call(page, 'sealTimes', ENQUEUES, size)));
      enq.raw.push(...raw);
      enq.engine.push(...eng);
      enq.p50Ratio.push(pct(eng, 50) / pct(raw, 50));
      enq.p99Ratio.push(pct(eng, 99) / pct(raw, 99));
    }

    // 2. Drain vs the raw loop, interleaved, at 0 and 50 ms.
    const drain0 = { raw: [] as number[], engine: [] as number[], memory: [] as number[], unfenced: [] as number[], rawSplit: [] as Split[], engineSplit: [] as Split[] };
    for (let round = 0; round < ROUNDS; round++) {
      drain0.raw.push(await rawLoop(page, LEAD, OPS, drain0.rawSplit));
      drain0.engine.push(await engineDrain(page, LEAD, OPS, drain0.engineSplit));
      // The same engine on the memory driver: the pipeline without IndexedDB.
      drain0.memory.push(await engineDrain(page, LEAD, OPS, undefined, true, false, cpuPerOp.memory));
      // The same engine on IndexedDB with an app lock (no fence): what the fence's per-op reads cost.
      drain0.unfenced.push(await engineDrain(page, LEAD, OPS, undefined, false, true, cpuPerOp.unfenced));
    }
    server.latencyMs = 50;
    const drain50 = { raw: [] as number[], engine: [] as number[] };
    for (let round = 0; round < 3; round++) {
      drain50.raw.push(await rawLoop(page, 10, SLOW_OPS));
      drain50.engine.push(await engineDrain(page, 10, SLOW_OPS));
    }
    server.latencyMs = 0;
    const profile = PROFILE ? await profileDrain(page, cdp) : [];

    // 3. A backlog of QUEUED ops in IndexedDB.
    const heapEmpty = await (async () => {
      await call(page, 'open', freshName());
      const mb = await heapMb(cdp);
      await call(page, 'close');
      return mb;
    })();
    const backlog = freshName();
    await call(page, 'open', backlog);
    const tFill = performance.now();
    await call(page, 'fill', QUEUED);
    const fillSec = (performance.now() - tFill) / 1000;
    const heapQueued = await heapMb(cdp);
    const rawBacklog = await call(page, 'rawPutTimes', ENQUEUES, size);
    const enqBacklog = await call(page, 'enqueueTimes', ENQUEUES);
    // Reload with the engine idle (no lock held): open, start, first send.
    const reloadIdle = await reloadToFirstSend(page, backlog);
    // Let it drain a while, then reload mid-drain: the new page must wait
    // for the old one's lock.
    await new Promise((r) => setTimeout(r, 1000));
    const heapDraining = await heapMb(cdp);
    const reloadBusy = await reloadToFirstSend(page, backlog);
    await call(page, 'close');

    const x = (v: number) => `${v.toFixed(2)}×`;
    rows.push(['raw IndexedDB put (own tx, awaited)', `p50 ${pct(enq.raw, 50).toFixed(2)} / p99 ${pct(enq.raw, 99).toFixed(2)} ms (${size}-char string, the size of a sealed op)`]);
    rows.push([
      'engine enqueue (engine stopped)',
      `p50 ${pct(enq.engine, 50).toFixed(2)} / p99 ${pct(enq.engine, 99).toFixed(2)} ms (p50 ${x(median(enq.p50Ratio))}, p99 ${x(median(enq.p99Ratio))} [rounds ${range(enq.p99Ratio)}] the raw put; goal p99 ≤ 1.50×)`,
    ]);
    rows.push([
      '  of which: store.append / one seal',
      `p50 ${pct(enq.append, 50).toFixed(2)} / p99 ${pct(enq.append, 99).toFixed(2)} ms; Web Crypto AES-GCM alone p50 ${pct(enq.seal, 50).toFixed(2)} / p99 ${pct(enq.seal, 99).toFixed(2)} ms`,
    ]);
    const ratios0 = drain0.engine.map((e, i) => e / (drain0.raw[i] as number));
    const met = ratios0.filter((r) => r >= 0.85).length;
    rows.push(['raw sequential fetch loop, 0 ms', `${median(drain0.raw).toFixed(0)} ops/s [${range(drain0.raw, 0)}]`]);
    rows.push(['engine drain, IndexedDB, 0 ms', `${median(drain0.engine).toFixed(0)} ops/s (${x(median(ratios0))} raw [rounds ${range(ratios0)}]; goal ≥ 0.85×, met in ${met} of ${ROUNDS} rounds)`]);
    const ratios50 = drain50.engine.map((e, i) => e / (drain50.raw[i] as number));
    const ratiosMem = drain0.memory.map((e, i) => e / (drain0.raw[i] as number));
    rows.push(['engine drain, memory driver, 0 ms', `${median(drain0.memory).toFixed(0)} ops/s (${x(median(ratiosMem))} raw [rounds ${range(ratiosMem)}]: the pipeline without IndexedDB)`]);
    const ratiosUnfenced = drain0.unfenced.map((e, i) => e / (drain0.raw[i] as number));
    rows.push(['engine drain, IndexedDB, no fence', `${median(drain0.unfenced).toFixed(0)} ops/s (${x(median(ratiosUnfenced))} raw [rounds ${range(ratiosUnfenced)}]: an app lock, no fence read per send)`]);
    const ms = (xs: Split[], k: keyof Split) => median(xs.map((v) => v[k])).toFixed(2);
    rows.push([
      'per request at 0 ms, raw / engine',
      `request ${ms(drain0.rawSplit, 'requestMs')} / ${ms(drain0.engineSplit, 'requestMs')} ms; response → next request ${ms(drain0.rawSplit, 'gapMs')} / ${ms(drain0.engineSplit, 'gapMs')} ms (medians)`,
    ]);
    if (cpuPerOp.raw.length > 0 && cpuPerOp.engine.length === cpuPerOp.raw.length) {
      const cpuRatios = cpuPerOp.engine.map((e, i) => e / (cpuPerOp.raw[i] as number));
      rows.push([
        'Chromium CPU per op at 0 ms, raw / engine',
        `${median(cpuPerOp.raw).toFixed(2)} / ${median(cpuPerOp.engine).toFixed(2)} ms (engine ${x(median(cpuRatios))} raw [rounds ${range(cpuRatios)}]; all of Chromium's processes, less moved by the box's load than the rates)`,
      ]);
      const others = (['memory', 'unfenced'] as const).filter((k) => cpuPerOp[k].length === cpuPerOp.raw.length);
      if (others.length > 0) {
        const label = { memory: 'memory driver', unfenced: 'no fence' };
        rows.push([
          'the same, memory driver / no fence',
          others.map((k) => `${label[k]} ${median(cpuPerOp[k]).toFixed(2)} ms (${x(median(cpuPerOp[k].map((e, i) => e / (cpuPerOp.raw[i] as number))))} raw)`).join('; '),
        ]);
      }
    }
    const perOp = txPerOp.slice(-ROUNDS);
    const scopes = [...new Set(perOp.flatMap((r) => Object.keys(r)))].sort((a, b) => (perOp[0]?.[b] ?? 0) - (perOp[0]?.[a] ?? 0));
    rows.push(['IndexedDB transactions per op (drain)', scopes.map((k) => `${k} ${median(perOp.map((r) => r[k] ?? 0)).toFixed(3)}`).join('; ')]);
    rows.push(['raw sequential fetch loop, 50 ms', `${median(drain50.raw).toFixed(1)} ops/s [${range(drain50.raw, 1)}]`]);
    rows.push(['engine drain, IndexedDB, 50 ms', `${median(drain50.engine).toFixed(1)} ops/s (${x(median(ratios50))} raw [rounds ${range(ratios50)}])`]);
    rows.push([`${QUEUED} ops queued: fill`, `${fillSec.toFixed(1)} s (enqueue, 200 at a time)`]);
    rows.push([
      `${QUEUED} queued: enqueue`,
      `p50 ${pct(enqBacklog, 50).toFixed(2)} / p99 ${pct(enqBacklog, 99).toFixed(2)} ms (raw put beside it: p50 ${pct(rawBacklog, 50).toFixed(2)} / p99 ${pct(rawBacklog, 99).toFixed(2)} ms)`,
    ]);
    rows.push([`${QUEUED} queued: reload → first send`, `${reloadIdle.total.toFixed(0)} ms (engine idle before; of which start() → first send ${reloadIdle.fromStart.toFixed(0)} ms)`]);
    rows.push([`${QUEUED} queued: reload mid-drain`, `${reloadBusy.total.toFixed(0)} ms to the first send (start() → first send ${reloadBusy.fromStart.toFixed(0)} ms: the old page's lock)`]);
    rows.push(['JS heap after GC', `empty engine ${heapEmpty.toFixed(1)} MB; ${QUEUED} queued ${heapQueued.toFixed(1)} MB; draining them ${heapDraining.toFixed(1)} MB`]);
    if (errors.length > 0) rows.push(['page errors', errors.join(' | ')]);

    const w = Math.max(...rows.map((r) => r[0].length));
    console.log(
      `Chromium ${context.browser()?.version() ?? ''} (profile on disk), IndexedDB, loopback; ${OPS} ops per drain run at 0 ms, ${SLOW_OPS} at 50 ms, ${ROUNDS} interleaved rounds (3 at 50 ms), ${LEAD} untimed ops first; medians [range]\n`,
    );
    for (const [k, v] of rows) console.log(`  ${k.padEnd(w)}  ${v}`);
    if (profile.length > 0) console.log(`\nCPU profile of one drain (self time):\n${profile.map((l) => `  ${l}`).join('\n')}`);
  } finally {
    await context?.close();
    await pageServer?.close();
    rmSync(profileDir, { recursive: true, force: true });
  }

  /** Reload the page, open the store `name` with its backlog and start: ms to the server's first request, and from `start()`. */
  async function reloadToFirstSend(page: Page, name: string): Promise<{ total: number; fromStart: number }> {
    const t0 = performance.now();
    await page.reload();
    // The old page is gone: any request from here on is the new page's.
    server.firstPostAt = 0;
    await call(page, 'open', name);
    await call(page, 'start');
    const fromStart = await call(page, 'startToFirstSend');
    while (server.firstPostAt === 0) await new Promise((r) => setTimeout(r, 2));
    return { total: server.firstPostAt - t0, fromStart };
  }
}
