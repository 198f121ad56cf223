import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { describeInChromium, launchChromium, servePage, type PageServer } from './chromium-page-server';
import { TAB_FLAGS, collectPageErrors, created, remoteApi, sleep, todosEndpoint, waitUntil } from './page-helpers';

/**
 * Two tabs of one origin, each with a whole engine on the same IndexedDB
 * store: one holds the storage lock; ops enqueued in the other tab are sent
 * by the holder at once through the BroadcastChannel wake (its idle poll is
 * set to a minute, so only the wake explains a prompt send), once each, in
 * enqueue order. Skipped (with a notice) without chromium, like
 * store-in-chromium.test.ts.
 */
interface TabEvent {
  readonly type: string;
  readonly at: number;
  readonly id?: string;
}
interface TabApi {
  open(o: { name: string; idlePollMs: number; wake: boolean }): Promise<void>;
  enqueue(ids: readonly string[]): Promise<number>;
  events(): readonly TabEvent[];
  close(): Promise<void>;
}
type Received = { readonly id: string; readonly key: string; readonly at: number };

const tab = (page: Page) => remoteApi<TabApi>(page, 'tabTest');

describeInChromium('two tabs in Chromium (IndexedDB lock + BroadcastChannel wake)', () => {
  let server: PageServer;
  let browser: Browser;
  const received: Received[] = [];

  beforeAll(async () => {
    server = await servePage(
      join(__dirname, 'tabs-entry.ts'),
      todosEndpoint(({ id }, req) => {
        received.push({ id, key: String(req.headers['idempotency-key']), at: Date.now() });
        return created({ id });
      }),
    );
    browser = await launchChromium(TAB_FLAGS); // both tabs keep their timers (lock heartbeats) at full rate
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('ops enqueued in the tab without the lock are sent by the holder tab at once, once each, in order', async () => {
    const context = await browser.newContext();
    const errors: string[] = [];
    const pageA = await context.newPage();
    const pageB = await context.newPage();
    collectPageErrors(errors, pageA, pageB);
    const a = tab(pageA);
    const b = tab(pageB);
    const opts = { name: 'tabs-test', idlePollMs: 60_000, wake: true };
    try {
      await pageA.goto(server.url);
      await a.open(opts);
      await waitUntil(async () => (await a.events()).some((e) => e.type === 'lockAcquired'), 10_000, 'tab A to hold the lock');
      await pageB.goto(server.url);
      await b.open(opts);
      // B contends for a few heartbeats (default 1 000 ms, stale after 3 000 ms) and stays out.
      await sleep(2_500);
      expect((await b.events()).filter((e) => e.type === 'lockAcquired')).toEqual([]);

      const ids = Array.from({ length: 20 }, (_, i) => `t-${i}`);
      const enqueuedAt = await b.enqueue(ids);
      // The idle poll is a minute away: only the wake explains every op
      // arriving within this wait (half of it).
      await waitUntil(() => received.length >= ids.length, 30_000, 'the holder tab to send every op');
      await sleep(300); // nothing more arrives

      expect(received.map((r) => r.id)).toEqual(ids);
      expect(new Set(received.map((r) => r.key)).size).toBe(ids.length);
      const sentBy = async (t: ReturnType<typeof tab>) => (await t.events()).filter((e) => e.type === 'attemptStarted').map((e) => e.id);
      expect(await sentBy(a)).toEqual(ids);
      expect(await sentBy(b)).toEqual([]);
      expect((await a.events()).filter((e) => e.type === 'lockLost')).toEqual([]);
      expect(errors).toEqual([]);
      // eslint-disable-next-line no-console
      console.log(`tabs: last op enqueued in the non-holder tab reached the server ${received[received.length - 1]!.at - enqueuedAt} ms later`);
    } finally {
      await Promise.allSettled([a.close(), b.close()]);
      await context.close();
    }
  }, 60_000);
});
