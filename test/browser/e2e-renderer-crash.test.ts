import { describeInChromium } from './chromium-page-server';
import { createdIds, doubledKeys, idRange, openPage, useE2eWorld, waitUntil } from './e2e-harness';

/**
 * A renderer crash mid-flight: the page's process dies (CDP `Page.crash`)
 * the moment the server has committed an op and before its answer is
 * written, with the rest of the queue still in IndexedDB. A new page on
 * the same origin (same profile) opens the store and the engine again:
 * every op is applied exactly once (server-side effect count per
 * idempotency key), in enqueue order.
 */
describeInChromium('e2e: renderer crash mid-flight in Chromium', () => {
  const e2e = useE2eWorld();

  it('after reopening, every op is applied exactly once, in order', async () => {
    const { world } = e2e;
    const { backend } = world;
    const context = await e2e.newContext();
    const first = await openPage(world, context);
    const crashed = new Promise<void>((resolve) => first.page.once('crash', () => resolve()));
    // Chromium's own renderer crash (the DevTools protocol's Page.crash): the page's process dies at once.
    const cdp = await context.newCDPSession(first.page);
    backend.faults.rule((req) => (req.method === 'POST' ? { kind: 'latency', ms: 40 } : null));
    await first.api.open({ name: 'e2e-crash', token: world.token, start: false });
    const ids = idRange('c', 0, 30);
    // Crash right after the server commits the 8th op, before its answer is written.
    let crashAt = 0;
    const stop = backend.onEffect(() => {
      if (crashAt !== 0 || createdIds(backend).length < 8) return;
      crashAt = Date.now();
      void cdp.send('Page.crash').catch(() => undefined);
    });
    const enqueued = await first.api.enqueue(ids);
    expect(enqueued.every((o) => o.ok)).toBe(true);
    await first.api.start();
    await crashed;
    stop();
    const appliedAtCrash = createdIds(backend).length;
    expect(appliedAtCrash).toBeLessThan(ids.length);

    const second = await openPage(world, context);
    const reopenedAt = Date.now();
    await second.api.open({ name: 'e2e-crash', token: world.token });
    await waitUntil(() => createdIds(backend).length >= ids.length, 45_000, 'the reopened page to send the rest');
    await waitUntil(async () => (await second.api.status())?.synced === true, 15_000, 'the reopened engine to settle');

    expect(createdIds(backend)).toEqual(ids);
    expect(doubledKeys(backend)).toEqual([]);
    expect(backend.counters().applied).toBe(ids.length);
    expect(await second.api.failed()).toBe(0);
    expect(second.errors).toEqual([]);
    const resentFirst = (await second.api.events()).find((e) => e.type === 'attemptStarted');
    // eslint-disable-next-line no-console
    console.log(
      `renderer crash: ${appliedAtCrash} of ${ids.length} applied when the renderer died; the reopened page's first send ` +
        `(${resentFirst?.id}) ${resentFirst ? resentFirst.at - reopenedAt : '?'} ms after it loaded (crash → reload ${reopenedAt - crashAt} ms); ` +
        `${backend.counters().replays} idempotent replays; every op once, in order`,
    );
    await second.api.close();
  }, 85_000);
});
