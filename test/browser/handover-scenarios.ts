import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { servePage } from './chromium-page-server';
import { HandoverBackend } from './handover-server';
import { TAB_FLAGS, collectPageErrors, remoteApi, sleep, waitUntil } from './page-helpers';

/**
 * The handover scenarios, driven in Chromium: shared by
 * `handover-in-chromium.test.ts` (which asserts behaviour) and
 * `bench/browser-handover.bench.ts` (which prints the times against their
 * goals). Real time: this is the browser.
 */
interface PageEvent {
  readonly type: string;
  readonly at: number;
  readonly id?: string;
  readonly takeover?: boolean;
}
interface HandoverApi {
  open(o: { name: string; tab: string }): Promise<number>;
  enqueue(ids: readonly string[]): Promise<void>;
  startToFirstSend(): number | undefined;
  events(): readonly PageEvent[];
  close(): Promise<void>;
}

/** The page's `handover` object (handover-entry.ts). */
export const handoverPage = (page: Page) => remoteApi<HandoverApi>(page, 'handover');

/** Chromium flags for these runs: every page keeps full-rate timers (a background tab is not throttled). */
export const HANDOVER_CHROMIUM_ARGS = TAB_FLAGS;

/** A deterministic source in [0, 1) (the points of reload differ per seed, not per run). */
function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** What a run measured, and the server's account of it. */
export interface HandoverRun {
  readonly ids: readonly string[];
  readonly backend: HandoverBackend;
  /** Per new page (reload), or for the tab left (close): ms until its first send. */
  readonly times: readonly number[];
  readonly pageErrors: readonly string[];
  /** Every `lockAcquired` of every page: `takeover` true means it waited for a stale holder. */
  readonly acquisitions: ReadonlyArray<{ readonly tab: string; readonly takeover: boolean }>;
}

/**
 * A handover backend answering after `delayMs`, the entry page served in
 * front of it, and `pageCount` pages of one new context (errors collected)
 * for `body`; all closed after it.
 */
async function inHandoverWorld<T>(
  browser: Browser,
  delayMs: number,
  pageCount: number,
  body: (w: { backend: HandoverBackend; url: string; pages: Page[]; pageErrors: string[] }) => Promise<T>,
): Promise<T> {
  const backend = new HandoverBackend(delayMs);
  const server = await servePage(join(__dirname, 'handover-entry.ts'), backend.handle);
  const context = await browser.newContext();
  const pageErrors: string[] = [];
  try {
    const pages: Page[] = [];
    for (let i = 0; i < pageCount; i += 1) pages.push(await context.newPage());
    collectPageErrors(pageErrors, ...pages);
    return await body({ backend, url: server.url, pages, pageErrors });
  } finally {
    await context.close();
    await server.close();
  }
}

/**
 * Reload mid-drain: a page enqueues `ops` ops and starts draining; it is
 * reloaded `reloads` times, each after a random 20–250 ms of draining;
 * every new page starts its engine, and the time from `start()` to its
 * first request is measured in the page. Ends once every op was applied.
 */
export async function reloadMidDrain(browser: Browser, opts: { ops: number; reloads: number; seed: number; delayMs: number }): Promise<HandoverRun> {
  return inHandoverWorld(browser, opts.delayMs, 1, async ({ backend, url, pages: [page], pageErrors }) => {
    const h = handoverPage(page);
    const name = `handover-reload-${opts.seed}`;
    const random = seeded(opts.seed);
    const ids = Array.from({ length: opts.ops }, (_, i) => `r-${i}`);
    await page.goto(url);
    await h.open({ name, tab: 'load-0' });
    await h.enqueue(ids);
    const times: number[] = [];
    const acquisitions: Array<{ tab: string; takeover: boolean }> = [];
    const noteAcquisitions = async (tab: string) => {
      for (const e of await h.events()) if (e.type === 'lockAcquired') acquisitions.push({ tab, takeover: e.takeover === true });
    };
    for (let i = 1; i <= opts.reloads; i += 1) {
      await sleep(20 + Math.floor(random() * 230));
      await noteAcquisitions(`load-${i - 1}`);
      await page.reload();
      await h.open({ name, tab: `load-${i}` });
      await waitUntil(async () => (await h.startToFirstSend()) !== undefined || backend.effects.length === ids.length, 10_000, `page load ${i} to send`);
      const t = await h.startToFirstSend();
      if (t !== undefined) times.push(t);
    }
    await waitUntil(() => new Set(backend.effects).size === ids.length, 60_000, 'every op to be applied');
    await sleep(200); // nothing more arrives
    await noteAcquisitions(`load-${opts.reloads}`);
    await h.close();
    return { ids, backend, times, pageErrors, acquisitions };
  });
}

/**
 * Close the sending tab: tab A holds the lock and drains `ops` ops (half
 * enqueued in A, half in B); once A has sent a few, A is closed; the time
 * from `close()` to the server receiving B's first request is measured.
 * Ends once every op was applied.
 */
export async function closeSendingTab(browser: Browser, opts: { ops: number; delayMs: number }): Promise<HandoverRun> {
  return inHandoverWorld(browser, opts.delayMs, 2, async ({ backend, url, pages: [pageA, pageB], pageErrors }) => {
    const a = handoverPage(pageA);
    const b = handoverPage(pageB);
    const name = 'handover-close';
    const ids = Array.from({ length: opts.ops }, (_, i) => `c-${i}`);
    await pageA.goto(url);
    await a.open({ name, tab: 'A' });
    await waitUntil(async () => (await a.events()).some((e) => e.type === 'lockAcquired'), 10_000, 'tab A to hold the lock');
    await pageB.goto(url);
    await b.open({ name, tab: 'B' });
    await a.enqueue(ids.slice(0, opts.ops / 2));
    await b.enqueue(ids.slice(opts.ops / 2));
    await waitUntil(() => backend.requests.filter((r) => r.tab === 'A').length >= 5, 10_000, 'tab A to send');
    const closedAt = Date.now();
    await pageA.close();
    await waitUntil(() => backend.firstOf('B') !== undefined, 10_000, 'tab B to take over');
    const times = [backend.firstOf('B')!.start - closedAt];
    await waitUntil(() => new Set(backend.effects).size === ids.length, 60_000, 'every op to be applied');
    await sleep(200);
    const acquisitions = (await b.events()).filter((e) => e.type === 'lockAcquired').map((e) => ({ tab: 'B', takeover: e.takeover === true }));
    await b.close();
    return { ids, backend, times, pageErrors, acquisitions };
  });
}
