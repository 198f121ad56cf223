import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startReferenceBackend, type ReferenceBackend } from '../../src/testing';
import { isApiPath, proxyTo } from '../../demo/web/api-proxy';
import { launchChromium, servePage, type PageServer } from './chromium-page-server';
import type { EnqueueOutcome, PageEvent } from './e2e-entry';
import type { RawScan } from './e2e-raw-idb';
import { openPageAt, sleep, waitUntil } from './page-helpers';
import type { EngineStatus } from '../../src/engine/sync-engine';

/**
 * Node side of the Chromium end-to-end suite: the reference backend behind
 * the page's own origin (the web demo's proxy), `e2e-entry.ts` bundled as
 * the page, and Debian's chromium. Each test file makes one of these.
 */
export interface E2eWorld {
  readonly backend: ReferenceBackend;
  readonly server: PageServer;
  readonly browser: Browser;
  /** A long-lived token for the page's engine. */
  readonly token: string;
  close(): Promise<void>;
}

export async function startE2eWorld(): Promise<E2eWorld> {
  const backend = await startReferenceBackend({ tokenTtlMs: 10 * 60_000 });
  const server = await servePage(join(__dirname, 'e2e-entry.ts'), (req, res) => {
    if (!isApiPath(req.url)) return false;
    proxyTo(backend.url, req, res);
    return true;
  });
  const browser = await launchChromium();
  return {
    backend,
    server,
    browser,
    token: backend.issueToken(),
    close: async () => {
      await browser.close();
      await server.close();
      await backend.close();
    },
  };
}

interface PageApi {
  open(o: { name: string; token: string; start?: boolean; quotaReserveBytes?: number }): Promise<void>;
  start(): void;
  enqueue(ids: readonly string[], title?: string, noteBytes?: number): Promise<EnqueueOutcome[]>;
  events(): readonly PageEvent[];
  status(): EngineStatus | undefined;
  failed(): Promise<number>;
  scanIndexedDb(marker: string): Promise<RawScan>;
  readDeviceKey(storeName: string): Promise<Record<string, unknown>>;
  writePlaintextControl(marker: string): Promise<void>;
  deletePlaintextControl(): Promise<void>;
  close(): Promise<void>;
}

type Api = { e2e: PageApi };

/** The page's `e2e` API, called through `page.evaluate`. */
export function pageApi(page: Page) {
  return {
    open: (o: { name: string; token: string; start?: boolean; quotaReserveBytes?: number }) => page.evaluate((a) => (globalThis as unknown as Api).e2e.open(a), o),
    start: () => page.evaluate(() => (globalThis as unknown as Api).e2e.start()),
    enqueue: (ids: readonly string[], title?: string, noteBytes?: number) =>
      page.evaluate(([i, t, n]) => (globalThis as unknown as Api).e2e.enqueue(i, t, n), [ids, title, noteBytes] as const),
    events: () => page.evaluate(() => (globalThis as unknown as Api).e2e.events()),
    status: () => page.evaluate(() => (globalThis as unknown as Api).e2e.status()),
    failed: () => page.evaluate(() => (globalThis as unknown as Api).e2e.failed()),
    scan: (marker: string) => page.evaluate((m) => (globalThis as unknown as Api).e2e.scanIndexedDb(m), marker),
    deviceKey: (name: string) => page.evaluate((n) => (globalThis as unknown as Api).e2e.readDeviceKey(n), name),
    writePlaintextControl: (marker: string) => page.evaluate((m) => (globalThis as unknown as Api).e2e.writePlaintextControl(m), marker),
    deletePlaintextControl: () => page.evaluate(() => (globalThis as unknown as Api).e2e.deletePlaintextControl()),
    close: () => page.evaluate(() => (globalThis as unknown as Api).e2e.close()),
  };
}

/** A fresh page on the world's origin, its errors collected. */
export async function openPage(world: E2eWorld, context: BrowserContext): Promise<{ page: Page; errors: string[]; api: ReturnType<typeof pageApi> }> {
  const { page, errors } = await openPageAt(context, world.server.url);
  return { page, errors, api: pageApi(page) };
}

export { sleep, waitUntil };

/**
 * One `E2eWorld` for the enclosing `describe` (started in `beforeAll`) and
 * the browser contexts its tests open with `newContext()`, all closed in
 * `afterAll` (contexts first).
 */
export function useE2eWorld(): { readonly world: E2eWorld; newContext(): Promise<BrowserContext> } {
  let world: E2eWorld | undefined;
  const contexts: BrowserContext[] = [];
  beforeAll(async () => {
    world = await startE2eWorld();
  }, 60_000);
  afterAll(async () => {
    for (const context of contexts.splice(0)) await context.close();
    await world?.close();
  });
  return {
    get world() {
      if (world === undefined) throw new Error('the e2e world is started in beforeAll');
      return world;
    },
    newContext: async () => {
      const context = await world!.browser.newContext();
      contexts.push(context);
      return context;
    },
  };
}

/** The ids of the todos the server created, in commit order, and how often each key was applied. */
export function createdIds(backend: ReferenceBackend): string[] {
  return backend.applied().filter((e) => e.resource === 'todos' && e.action === 'create').map((e) => e.id);
}

/** Keys the server applied more than once (must be none). */
export function doubledKeys(backend: ReferenceBackend): string[] {
  return [...backend.effectsByKey()].filter(([, n]) => n > 1).map(([k]) => k);
}

/** `prefix-0` … `prefix-(n-1)`. */
export const idRange = (prefix: string, from: number, to: number): string[] => Array.from({ length: to - from }, (_, i) => `${prefix}-${from + i}`);
