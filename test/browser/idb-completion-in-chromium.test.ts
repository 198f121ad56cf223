import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { describeInChromium, launchChromium, servePage, type PageServer } from './chromium-page-server';
import type { IdbCompletionApi } from './idb-completion-entry';
import { openPageAt, remoteApi, sleep, todosEndpoint } from './page-helpers';

/**
 * `complete` on Chromium's own IndexedDB: one read-write transaction over
 * the ledger and pending object stores (as on SQLite), so nothing is ever
 * pending and completed at once — not after an abort, not after the
 * renderer crashes mid-stream — and the drain sends without a ledger read
 * per op. Skipped (with a notice) without chromium, like
 * store-in-chromium.test.ts.
 */
const api = <K extends keyof IdbCompletionApi>(page: Page, fn: K, ...args: Parameters<IdbCompletionApi[K]>) =>
  (remoteApi<IdbCompletionApi>(page, 'idbCompletionTest')[fn] as (...a: Parameters<IdbCompletionApi[K]>) => Promise<Awaited<ReturnType<IdbCompletionApi[K]>>>)(...args);

describeInChromium('complete in one IndexedDB transaction, in Chromium', () => {
  let server: PageServer;
  let browser: Browser;
  let context: BrowserContext;
  const received: string[] = [];

  beforeAll(async () => {
    server = await servePage(
      join(__dirname, 'idb-completion-entry.ts'),
      todosEndpoint((_body, req) => void received.push(String(req.headers['idempotency-key']))),
    );
    browser = await launchChromium();
    context = await browser.newContext();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  async function open(): Promise<{ page: Page; errors: string[] }> {
    return openPageAt(context, server.url);
  }

  it('writes the ledger entry and removes the op in one read-write transaction; an aborted one changes nothing', async () => {
    const { page, errors } = await open();
    const r = await api(page, 'completeOnce', 'idb-once');
    expect(r).toEqual({
      completesAtomically: true,
      completeTxs: [{ stores: ['idempotency_ledger', 'pending_ops'], mode: 'readwrite' }],
      completed: 'fulfilled',
      abortedCall: 'unavailable',
      pending: ['tx-2'],
      aInLedger: true,
      bInLedger: false,
    });
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it('a renderer crash in the middle of a stream of completes leaves every op pending or completed, never both, never neither', async () => {
    // Read raw after the crash, before any open (which would repair): two
    // writes per complete leave an op in both stores when the crash falls
    // between them (on the two-write build this caught it in some runs, not
    // every run: the window is narrow; the other two tests here fail on it
    // every time).
    for (let round = 0; round < 3; round++) {
      const name = `idb-crash-${round}`;
      const { page } = await open();
      const cdp = await context.newCDPSession(page);
      const ops = await api(page, 'queueOps', name, 1000);
      await api(page, 'startCompleting');
      // Crash at a different point each round (Chromium completes a few hundred a second).
      await sleep([30, 100, 300][round] as number);
      const crashed = page.waitForEvent('crash', { timeout: 10_000 });
      // Never answered: the renderer is gone before it could reply.
      void cdp.send('Page.crash').catch(() => undefined);
      await crashed;
      await page.close().catch(() => undefined);

      const { page: after, errors } = await open();
      const where = await api(after, 'whereAre', name, ops);
      console.log(`round ${round}: crashed mid-stream →`, where);
      expect(where.both).toBe(0);
      expect(where.neither).toBe(0);
      // The crash did fall inside the stream.
      expect(where.completed).toBeGreaterThan(0);
      expect(where.pending).toBeGreaterThan(0);
      expect(errors).toEqual([]);
      await after.close();
    }
  }, 80_000);

  it('completeAll: several ops in one read-write transaction; an aborted one changes nothing', async () => {
    const { page, errors } = await open();
    const r = await api(page, 'completeAllOnce', 'idb-all-once');
    expect(r).toEqual({
      completeTxs: [{ stores: ['idempotency_ledger', 'pending_ops'], mode: 'readwrite' }],
      completed: 'fulfilled',
      abortedCall: 'unavailable',
      pending: ['tx-4', 'tx-5', 'tx-6'],
      inLedger: [true, true, true, false, false, false],
    });
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it('a renderer crash in the middle of a stream of completeAll leaves each group whole: every op pending or completed, never half a group', async () => {
    const GROUP = 5;
    for (let round = 0; round < 2; round++) {
      const name = `idb-crash-all-${round}`;
      const { page } = await open();
      const cdp = await context.newCDPSession(page);
      const ops = await api(page, 'queueOps', name, 1000);
      await api(page, 'startCompleting', GROUP);
      await sleep([50, 200][round] as number);
      const crashed = page.waitForEvent('crash', { timeout: 10_000 });
      void cdp.send('Page.crash').catch(() => undefined);
      await crashed;
      await page.close().catch(() => undefined);

      const { page: after, errors } = await open();
      const where = await api(after, 'whereAre', name, ops);
      console.log(`completeAll round ${round}: crashed mid-stream →`, where);
      expect(where.both).toBe(0);
      expect(where.neither).toBe(0);
      // Groups are completed in queue order, all or none: whole groups only.
      expect(where.completed % GROUP).toBe(0);
      expect(where.completed).toBeGreaterThan(0);
      expect(where.pending).toBeGreaterThan(0);
      expect(errors).toEqual([]);
      await after.close();
    }
  }, 80_000);

  it('a whole engine on IndexedDB drains without a ledger read per op, its commits merged into fewer transactions; each op is sent once', async () => {
    const { page, errors } = await open();
    received.length = 0;
    const r = await api(page, 'drain', 'idb-drain', 60);
    console.log(`engine drain: ${r.completeTxs} completion transactions for ${r.committed} ops`);
    expect(r).toEqual({ committed: 60, other: 0, ledgerReads: 0, completeTxs: expect.any(Number) });
    // Commits that queue up within the lane's merge window share a transaction.
    expect(r.completeTxs).toBeLessThan(60);
    expect(r.completeTxs).toBeGreaterThan(0);
    expect(received).toHaveLength(60);
    expect(new Set(received).size).toBe(60);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);
});
