import { describeInChromium } from './chromium-page-server';
import { createdIds, doubledKeys, idRange, openPage, sleep, useE2eWorld, waitUntil } from './e2e-harness';

/**
 * Offline → online in a real browser: the engine's default online signal
 * follows Chromium's own `offline`/`online` events (`context.setOffline`
 * emulates the network going away). Going offline mid-drain stops the
 * sending at once (no attempt starts while offline, the server sees
 * nothing); ops enqueued meanwhile wait; back online, everything is sent,
 * once each, in enqueue order.
 */
describeInChromium('e2e: offline → online in Chromium', () => {
  const e2e = useE2eWorld();

  it('nothing is sent while offline, everything after, in order, once each', async () => {
    const { world } = e2e;
    const { backend } = world;
    const context = await e2e.newContext();
    const { api, errors } = await openPage(world, context);
    // Every write takes 150 ms on the server: going offline catches the drain mid-flight.
    backend.faults.rule((req) => (req.method === 'POST' ? { kind: 'latency', ms: 150 } : null));
    await api.open({ name: 'e2e-offline', token: world.token });

    const before = idRange('o', 0, 12);
    await api.enqueue(before);
    await waitUntil(() => createdIds(backend).length >= 3, 30_000, 'the first ops to reach the server');

    await context.setOffline(true);
    await waitUntil(async () => (await api.status())?.online === false, 10_000, 'the engine to see the browser go offline');
    const status = await api.status();
    expect(status?.blockedBy).toContain('offline');
    // A request already on the wire may still land (the server had it); after that, nothing.
    await sleep(400);
    const requestsWhileOffline = backend.counters().requests;
    const appliedWhileOffline = createdIds(backend).length;

    const during = idRange('o', 12, 20);
    await api.enqueue(during);
    await sleep(1_500);
    expect(backend.counters().requests).toBe(requestsWhileOffline);
    expect(createdIds(backend)).toHaveLength(appliedWhileOffline);
    expect(appliedWhileOffline).toBeLessThan(before.length);

    const offlineAt = (await api.events()).filter((e) => e.type === 'online' && e.online === false).at(-1)!.at;
    await context.setOffline(false);
    const all = [...before, ...during];
    await waitUntil(() => createdIds(backend).length >= all.length, 30_000, 'every op to reach the server once back online');
    await sleep(300); // nothing more arrives

    const events = await api.events();
    const onlineAt = events.filter((e) => e.type === 'online' && e.online === true).at(-1)!.at;
    expect(onlineAt).toBeGreaterThan(offlineAt);
    const startedWhileOffline = events.filter((e) => e.type === 'attemptStarted' && e.at > offlineAt && e.at < onlineAt);
    expect(startedWhileOffline).toEqual([]);
    expect(createdIds(backend)).toEqual(all);
    expect(doubledKeys(backend)).toEqual([]);
    expect(new Set(events.filter((e) => e.type === 'completed').map((e) => e.id))).toEqual(new Set(all));
    expect(errors).toEqual([]);
    const firstAfter = events.find((e) => e.type === 'attemptStarted' && e.at >= onlineAt);
    // eslint-disable-next-line no-console
    console.log(`offline→online: ${appliedWhileOffline} of ${before.length} applied before going offline; first send ${firstAfter!.at - onlineAt} ms after the online event; ${all.length} ops once each, in order`);
    await api.close();
  }, 80_000);
});
