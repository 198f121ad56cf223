import type { Browser } from 'playwright-core';
import { describeInChromium, launchChromium } from './chromium-page-server';
import { TAB_FLAGS, percentile, runTruthScenario, startTruthServer, type TruthRun, type TruthServer } from './truth-tabs';

/**
 * Every tab tells the truth, in Chromium: two and three tabs of one origin,
 * each a whole engine on one IndexedDB store with the browser defaults (no
 * `wake`, no `crossTab` passed: the BroadcastChannel named after the store
 * is on by default). Ops are enqueued in every tab, some refused by the
 * server (400). Each tab's `results$` must show every op's outcome exactly
 * once, every tab's optimistic view must end identical with no pending
 * layer, and only the lock holder sends, each op once. The time from an
 * enqueue in a tab without the lock to the server receiving it is printed
 * (goal < 100 ms; the idle poll is a minute away, so only the cross-tab
 * wake explains it) — measured, not asserted. Skipped (with a notice)
 * without chromium.
 */
describeInChromium('every tab tells the truth (Chromium, IndexedDB, default BroadcastChannel)', () => {
  let server: TruthServer;
  let browser: Browser;

  beforeAll(async () => {
    server = await startTruthServer();
    browser = await launchChromium(TAB_FLAGS);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  function expectTruth(run: TruthRun, tabs: number): void {
    const expected = Object.fromEntries(run.ids.map((id) => [`tx-${id}`, id.startsWith('bad') ? 'failed' : 'committed']));
    expect(run.tabs).toHaveLength(tabs);
    run.tabs.forEach((tab) => {
      // Exactly once per tab, whichever tab enqueued the op.
      expect(tab.results.map((r) => r.txToken).sort()).toEqual(Object.keys(expected).sort());
      expect(Object.fromEntries(tab.results.map((r) => [r.txToken, r.outcome]))).toEqual(expected);
      // The holder's data came with every commit (nothing was lost, nothing recovered without it).
      expect(tab.results.filter((r) => r.outcome === 'committed').every((r) => (r.data as { id?: string } | undefined)?.id !== undefined)).toBe(true);
      expect(tab.pending).toEqual([]);
      expect(tab.state).toEqual(run.tabs[0]!.state);
      expect(tab.confirmed).toEqual(run.tabs[0]!.confirmed);
    });
    // The views: every accepted op, committed, in FIFO (enqueue) order; the refused rolled back.
    expect(run.tabs[0]!.state).toEqual(run.ids.filter((id) => !id.startsWith('bad')).map((id) => `${id}✓`));
    // Only the holder sent; each op once, in order.
    const sentBy = run.tabs.map((t) => t.events.filter((e) => e.type === 'attemptStarted').map((e) => e.id));
    expect(sentBy[run.holder]).toEqual(run.ids);
    sentBy.forEach((s, i) => i !== run.holder && expect(s).toEqual([]));
    run.tabs.forEach((t) => expect(t.events.filter((e) => e.type === 'lockLost')).toEqual([]));
    expect(run.errors).toEqual([]);
  }

  const report = (label: string, run: TruthRun) => {
    const l = run.nonHolderLatencyMs;
    // eslint-disable-next-line no-console
    console.log(
      `truth: ${label}: enqueue in a tab without the lock → server: p50 ${percentile(l, 50)} ms, max ${Math.max(...l)} ms over ${l.length} ops (goal < 100 ms)`,
    );
  };

  it.each([
    { label: 'two tabs', tabs: 2, opsPerTab: 6, badEvery: 4 },
    { label: 'three tabs', tabs: 3, opsPerTab: 4, badEvery: 5 },
  ])('$label: every outcome exactly once in each tab, identical views, one sender', async ({ label, tabs, opsPerTab, badEvery }) => {
    const run = await runTruthScenario(browser, server, { name: `truth-${tabs}`, tabs, opsPerTab, badEvery });
    expectTruth(run, tabs);
    expect(server.received.filter((r) => r.id.includes(`-truth-${tabs}-`)).map((r) => r.id)).toEqual(run.ids);
    report(label, run);
  }, 60_000);
});
