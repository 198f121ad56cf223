/**
 * The "every tab tells the truth" scenario in Chromium, shared by
 * `truth-in-chromium.test.ts` (which asserts on it) and
 * `bench/browser-tabs.bench.ts` (which prints its timings): N tabs of one
 * origin, each a whole engine on one IndexedDB store with the browser
 * defaults, enqueue ops in turn (some refused by the server with a 400);
 * the scenario waits until every tab has every op's outcome and returns
 * what each tab saw and what the server received. No jest in here.
 */
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { servePage, type PageServer } from './chromium';
import { TAB_FLAGS, collectPageErrors, remoteApi, created, sleep, todosEndpoint, waitUntil } from './page-helpers';
import type { TruthTabApi } from './truth-entry';

type Snapshot = ReturnType<TruthTabApi['snapshot']>;
export type { Snapshot as TabSnapshot };

/** One request as the server got it. */
export interface Received {
  readonly id: string;
  readonly key: string;
  readonly at: number;
}

/** The page's server: serves the bundle, answers `POST /todos` (201, or 400 for ids starting with `bad`) and records each request. */
export interface TruthServer {
  readonly page: PageServer;
  readonly received: Received[];
  close(): Promise<void>;
}

export async function startTruthServer(): Promise<TruthServer> {
  const received: Received[] = [];
  const page = await servePage(
    join(__dirname, 'truth-entry.ts'),
    todosEndpoint(({ id }, req) => {
      received.push({ id, key: String(req.headers['idempotency-key']), at: Date.now() });
      return id.startsWith('bad') ? { status: 400, body: { error: { code: 'bad_request', message: 'refused' } } } : created({ id });
    }),
  );
  return { page, received, close: () => page.close() };
}

export { TAB_FLAGS };

const api = (page: Page) => remoteApi<TruthTabApi>(page, 'tabTest');

/** What one run saw. */
export interface TruthRun {
  /** Every op id, in the order enqueued (across tabs). */
  readonly ids: readonly string[];
  /** Which tab enqueued each op. */
  readonly tabOf: Readonly<Record<string, number>>;
  /** The tab holding the lock (tab 0, opened first). */
  readonly holder: number;
  /** Each tab's final snapshot (results, events, optimistic state). */
  readonly tabs: readonly Snapshot[];
  /** Page errors of any tab. */
  readonly errors: readonly string[];
  /** Per op enqueued in a tab without the lock: ms from its `enqueue` call to the server receiving it. */
  readonly nonHolderLatencyMs: readonly number[];
}

/**
 * Open `tabs` tabs on store `name` (tab 0 first, until it holds the lock),
 * enqueue `opsPerTab` ops in each, round-robin (every `badEvery`-th op is
 * refused; `oneAtATime`: each once the server has the one before), and wait until every tab has every outcome and no pending layer.
 * The idle poll is `idlePollMs` (a minute: only the cross-tab wake explains
 * a prompt send).
 */
export async function runTruthScenario(
  browser: Browser,
  server: TruthServer,
  o: {
    readonly name: string;
    readonly tabs: number;
    readonly opsPerTab: number;
    readonly badEvery: number;
    readonly idlePollMs?: number;
    /** Enqueue the next op only once the server has the previous one (an idle queue: the latency is the wake's, not the queue's). */
    readonly oneAtATime?: boolean;
  },
): Promise<TruthRun> {
  const context = await browser.newContext();
  const errors: string[] = [];
  const pages = await Promise.all(Array.from({ length: o.tabs }, () => context.newPage()));
  collectPageErrors(errors, ...pages);
  const tabs = pages.map(api);
  const opts = { name: o.name, idlePollMs: o.idlePollMs ?? 60_000 };
  try {
    await pages[0]!.goto(server.page.url);
    await tabs[0]!.open(opts);
    await waitUntil(async () => (await tabs[0]!.snapshot()).events.some((e) => e.type === 'lockAcquired'), 10_000, 'tab 0 to hold the lock');
    for (let i = 1; i < o.tabs; i++) {
      await pages[i]!.goto(server.page.url);
      await tabs[i]!.open(opts);
    }
    await sleep(500); // the others contend and stay out
    const ids: string[] = [];
    const tabOf: Record<string, number> = {};
    let n = 0;
    for (let k = 0; k < o.opsPerTab; k++) {
      for (let i = 0; i < o.tabs; i++) {
        n += 1;
        const id = `${n % o.badEvery === 0 ? 'bad' : 'ok'}-${o.name}-t${i}-${k}`;
        ids.push(id);
        tabOf[id] = i;
        await tabs[i]!.enqueue([id]);
        if (o.oneAtATime) await waitUntil(() => server.received.some((r) => r.id === id), 10_000, `the server to receive ${id}`);
      }
    }
    const settled = async () => {
      const snaps = await Promise.all(tabs.map((t) => t.snapshot()));
      return snaps.every((s) => s.results.length >= ids.length && s.pending.length === 0);
    };
    await waitUntil(settled, 30_000, 'every tab to see every outcome');
    await sleep(300); // nothing more comes
    const snaps = await Promise.all(tabs.map((t) => t.snapshot()));
    const firstReceipt = new Map<string, number>();
    for (const r of server.received) if (!firstReceipt.has(r.id)) firstReceipt.set(r.id, r.at);
    const enqueuedAt = Object.assign({}, ...snaps.map((s) => s.enqueuedAt)) as Record<string, number>;
    const nonHolderLatencyMs = ids.filter((id) => tabOf[id] !== 0).map((id) => (firstReceipt.get(id) ?? NaN) - (enqueuedAt[id] ?? NaN));
    return { ids, tabOf, holder: 0, tabs: snaps, errors, nonHolderLatencyMs };
  } finally {
    await Promise.allSettled(tabs.map((t) => t.close()));
    await context.close();
  }
}

/** p-th percentile (nearest rank) of `xs`. */
export function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
}
