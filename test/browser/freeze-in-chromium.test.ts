import { join } from 'node:path';
import { isApiPath, proxyTo } from '../../demo/web/api-proxy';
import { startReferenceBackend, type ReferenceBackend } from '../../src/testing';
import { describeInChromium, servePage, type PageServer } from './chromium-page-server';
import { createdIds, doubledKeys, idRange } from './e2e-harness';
import type { FreezeTabApi } from './freeze-entry';
import { TAB_FLAGS, sleep, waitUntil } from './page-helpers';
import { launchRawChromium, rawRemoteApi, type RawBrowser, type RawTab } from './raw-chromium';

/** A `POST /todos` as the page server forwarded it: who sent it, under which fencing token, when. */
interface Seen {
  readonly tab: string;
  readonly fence: number;
  readonly key: string;
  readonly at: number;
}

/**
 * How long the page server holds each of tab A's requests before passing it
 * on, ms: long enough for A's previous commits (merged over up to 100 ms)
 * to be written before the test stops it, mid-request.
 */
const A_LATENCY_MS = 400;

/** How the holder is stopped, and started again, over its DevTools connection. */
interface Stopper {
  readonly label: string;
  /**
   * Whether the other tab can finish its commits while this one is stopped.
   * Not while frozen: a page frozen with an IndexedDB transaction still
   * open (the store's own background work included) keeps it open until it
   * runs again, and the others' writes on the store wait for it — the new
   * holder sends every op at once but commits them once the frozen page
   * resumes (docs/operating.md).
   */
  readonly settlesWhileStopped: boolean;
  stop(tab: RawTab): Promise<unknown>;
  resume(tab: RawTab): Promise<unknown>;
}

/** Chromium's own freeze: the page is hidden, gets `freeze`, and its tasks stop until `active`. */
const FREEZE: Stopper = {
  label: 'frozen (Page.setWebLifecycleState)',
  settlesWhileStopped: false,
  stop: (tab) => tab.send('Page.setWebLifecycleState', { state: 'frozen' }),
  resume: (tab) => tab.send('Page.setWebLifecycleState', { state: 'active' }),
};

/** Stopped with no lifecycle event at all: paused in the debugger (at its next JS statement). */
const PAUSE: Stopper = {
  label: 'paused in the debugger (no freeze event)',
  settlesWhileStopped: true,
  stop: async (tab) => {
    await tab.send('Debugger.enable');
    return tab.send('Debugger.pause');
  },
  resume: async (tab) => {
    await tab.send('Debugger.resume');
    return tab.send('Debugger.disable');
  },
};

/**
 * A really frozen page, in Chromium, driven over its own DevTools pipe
 * (`raw-chromium.ts`: playwright's focus emulation keeps a page from
 * freezing): the tab that holds the processor lock is stopped mid-drain —
 * frozen by Chromium (`Page.setWebLifecycleState`: hidden, `freeze`
 * event, tasks stopped), or paused in the debugger (no event at all: the
 * page keeps its Web Lock). Two tabs, each a whole engine with the browser
 * defaults on one IndexedDB store, the reference backend behind the page's
 * origin. The other tab must take over (the time is printed, not
 * asserted); resumed, the stopped tab must neither send nor settle under
 * its stale fencing token (the server never sees a request whose token is
 * below one it already saw; the tab reports no attempt and no commit of
 * its own after the takeover); in the end every op is applied exactly once
 * and every tab's `results$` holds each op's real outcome, once. Skipped
 * (with a notice) without chromium.
 */
describeInChromium('a really frozen page (Chromium over DevTools, Web Locks)', () => {
  let backend: ReferenceBackend;
  let server: PageServer;
  let browser: RawBrowser;
  const seen: Seen[] = [];

  beforeAll(async () => {
    backend = await startReferenceBackend({ tokenTtlMs: 10 * 60_000 });
    server = await servePage(join(__dirname, 'freeze-entry.ts'), (req, res) => {
      if (!isApiPath(req.url)) return false;
      if (req.method === 'POST' && req.url === '/todos') {
        const tab = String(req.headers['x-tab']);
        seen.push({ tab, fence: Number(req.headers['x-fence']), key: String(req.headers['idempotency-key']), at: Date.now() });
        // Tab A's requests are held a while: the test stops A while it waits for an answer.
        if (tab === 'A') {
          setTimeout(() => proxyTo(backend.url, req, res), A_LATENCY_MS);
          return true;
        }
      }
      proxyTo(backend.url, req, res);
      return true;
    });
    browser = await launchRawChromium(TAB_FLAGS);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await backend?.close();
  });

  it.each([
    { stopper: FREEZE, name: 'freeze-frozen' },
    { stopper: PAUSE, name: 'freeze-paused' },
  ])('the holder $stopper.label mid-drain: the other tab takes over, the resumed tab is fenced out, every op once, every tab told', async ({ stopper, name }) => {
    backend.reset();
    seen.length = 0;
    const token = backend.issueToken();
    const tabA = await browser.newTab(server.url);
    const tabB = await browser.newTab(server.url);
    const a = rawRemoteApi<FreezeTabApi>(tabA, 'freeze');
    const b = rawRemoteApi<FreezeTabApi>(tabB, 'freeze');
    const opts = { name, token, idlePollMs: 1000 };
    const ids = [...idRange(`${name}-a`, 0, 20), ...idRange(`${name}-b`, 0, 20)];
    try {
      await a.open({ ...opts, tab: 'A' });
      await waitUntil(async () => (await a.snapshot()).events.some((e) => e.type === 'lockAcquired'), 10_000, 'tab A to hold the lock');
      await b.open({ ...opts, tab: 'B' });
      await a.enqueue(ids.slice(0, 20));
      await b.enqueue(ids.slice(20));
      await waitUntil(() => createdIds(backend).length >= 6, 10_000, 'tab A to drain');
      // Mid-drain, while A waits for an answer (its previous commit written): a frozen tab's usual state.
      // Stopped inside an IndexedDB transaction instead, A would hold the others' transactions on the
      // store until it runs again (docs/operating.md): no takeover could send meanwhile.
      const sentByA = seen.filter((r) => r.tab === 'A').length;
      await waitUntil(() => seen.filter((r) => r.tab === 'A').length > sentByA, 10_000, 'tab A to send the next op');
      // Its commits merge for up to 100 ms (the settle lane's window): wait until every op the server
      // applied is committed in A, so A is stopped with no commit of its own still to write.
      const applied = createdIds(backend).length;
      await waitUntil(async () => (await a.snapshot()).results.length >= applied, 10_000, "tab A to write its previous ops' commits");
      const openAtStop = await a.openCalls();
      const stoppedAt = Date.now();
      await stopper.stop(tabA);
      const appliedAtStop = createdIds(backend).length;
      await waitUntil(async () => (await b.snapshot()).events.some((e) => e.type === 'lockAcquired'), 20_000, 'tab B to take over').catch(async (e: Error) => {
        const snapB = await b.snapshot();
        throw new Error(`${e.message}: A had ${JSON.stringify(openAtStop)} open when stopped; B events ${JSON.stringify(snapB.events.slice(-8))}`);
      });
      const takenOverAt = (await b.snapshot()).events.find((e) => e.type === 'lockAcquired')!.at;
      await waitUntil(() => new Set(createdIds(backend)).size === ids.length, 20_000, 'every op to be applied').catch(async (e: Error) => {
        const snapB = await b.snapshot();
        throw new Error(`${e.message}: ${createdIds(backend).length} applied; B: ${JSON.stringify({ events: snapB.events.slice(-6), pending: snapB.pending.length })}`);
      });
      // Paused: B settles them all (its last results too) while A hears nothing — a paused page loses the
      // channel's messages and reads every outcome from the store. Frozen: B's commits wait for A (above).
      const bSettled = async () => (await b.snapshot()).results.length >= ids.length;
      if (stopper.settlesWhileStopped) await waitUntil(bSettled, 20_000, 'tab B to settle every op').catch(async (e: Error) => {
        const snapB = await b.snapshot();
        const missing = ids.filter((id) => !snapB.results.some((r) => r.id === id));
        throw new Error(`${e.message}: A had ${JSON.stringify(openAtStop)} open; B has no result for ${missing.join(', ')}; B pending ${snapB.pending.join(', ')}; B events ${JSON.stringify(snapB.events.slice(-4))}`);
      });
      await stopper.resume(tabA);
      const settled = async () => (await Promise.all([a.snapshot(), b.snapshot()])).every((s) => s.results.length >= ids.length && s.pending.length === 0);
      await waitUntil(settled, 20_000, 'both tabs to show every outcome').catch(async (e: Error) => {
        const snaps = await Promise.all([a.snapshot(), b.snapshot()]);
        throw new Error(`${e.message}: ${JSON.stringify(snaps.map((x) => ({ results: x.results.length, pending: x.pending, events: x.events.slice(-8) })))}`);
      });
      await sleep(1500); // whatever the resumed tab still had queued has run
      const [snapA, snapB] = await Promise.all([a.snapshot(), b.snapshot()]);

      // Every op applied exactly once, in enqueue order (B resends A's cut-off op under its one key).
      expect(createdIds(backend)).toEqual(ids);
      expect(doubledKeys(backend)).toEqual([]);
      // The server never saw a request under a token below one it had already seen: no stale sender.
      expect(seen.filter((r, i) => seen.slice(0, i).some((p) => p.fence > r.fence))).toEqual([]);
      expect(seen.some((r) => r.tab === 'B')).toBe(true);
      // The resumed tab neither started an attempt nor wrote a settlement after the takeover (the fence refused it).
      expect(snapA.events.filter((e) => e.type === 'attemptStarted' && e.at >= takenOverAt)).toEqual([]);
      expect(snapA.writes.filter((w) => w.at >= takenOverAt)).toEqual([]);
      // Every tab: each op's real outcome, exactly once; no pending layer; the same view.
      for (const snap of [snapA, snapB]) {
        expect(snap.results.map((r) => r.id).sort()).toEqual([...ids].sort());
        expect(snap.results.every((r) => r.outcome === 'committed')).toBe(true);
        expect(snap.pending).toEqual([]);
        expect(snap.state).toEqual(ids.map((id) => `${id}✓`));
      }
      // While A was sending, B's view showed A's op in flight as `sending`.
      expect(snapB.sending.some((s) => s.at < stoppedAt)).toBe(true);
      expect([...tabA.errors, ...tabB.errors]).toEqual([]);
      // eslint-disable-next-line no-console
      console.log(
        `freeze: store calls open in A when stopped: ${JSON.stringify(openAtStop)}; holder ${stopper.label} after ${appliedAtStop} of ${ids.length} ops applied; the other tab took over ${takenOverAt - stoppedAt} ms later; ` +
          `the stopped tab: ${snapA.events.filter((e) => e.type === 'lockLost' && e.at >= takenOverAt).length} lockLost after the takeover, ` +
          `${snapA.results.filter((r) => !r.hasData).length} of its ${snapA.results.length} results recovered from the store (no data); ` +
          `${backend.counters().replays} idempotent replays`,
      );
    } finally {
      // Bounded: a page left stopped by a failed run must not hold the suite.
      await Promise.race([Promise.allSettled([a.close(), b.close()]), sleep(5_000)]);
      await Promise.race([Promise.allSettled([tabA.close(), tabB.close()]), sleep(5_000)]);
    }
  }, 80_000);
});
