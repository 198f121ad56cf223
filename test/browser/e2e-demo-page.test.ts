import type { Browser, Page } from 'playwright-core';
import { startWebDemo, type WebDemo } from '../../demo/web/web-server';
import { serverTruth } from '../../demo/web/server-truth';
import type { SwitchState } from '../../demo/web/fault-switches';
import { describeInChromium, launchChromium } from './chromium-page-server';
import { openPageAt, waitUntil } from './page-helpers';

/**
 * The browser demo (`npm run demo:web`) driven as a person would: todos
 * added, ticked, renamed and deleted through the page while its switches
 * take the backend down, storm it with 429s, expire the token (refreshed;
 * then refused, so the page asks for a new sign-in) and answer conflicts
 * (the ops land in the dead-letter list and are retried from it). At the
 * end the server applied exactly the ops the user made — per todo, the same
 * actions in the same order, no key twice — and the page's list is the
 * server's.
 */
describeInChromium('e2e: the browser demo page, driven through its switches', () => {
  let demo: WebDemo;
  let browser: Browser;

  beforeAll(async () => {
    [demo, browser] = await Promise.all([startWebDemo(), launchChromium()]);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await demo?.close();
  });

  it('ends with the server holding exactly the user’s ops (0 lost, 0 doubled) and the page’s list equal to the server’s', async () => {
    const { page, errors } = await openPageAt(browser, demo.url);
    await page.waitForSelector('body[data-ready=true]', { timeout: 60_000 });
    const ui = demoUi(page);
    const truth = () => serverTruth(demo.backend);
    const setSwitch = async (name: keyof SwitchState, on: boolean) => {
      await page.setChecked(`#sw-${name}`, on);
      await waitUntil(() => demo.switches.state[name] === on, 10_000, `switch ${name} ${on ? 'on' : 'off'}`);
    };
    const statusOf = (key: string) => page.getAttribute('#statusbar', `data-${key}`);
    const started = Date.now();

    for (const title of ['Milk', 'Bread', 'Call Ada', 'Eggs']) await ui.add(title);
    await waitUntil(() => truth().todos.length === 4, 20_000, 'the first four todos on the server');

    await setSwitch('storm', true);
    await ui.add('Pay rent');
    await ui.toggle('Milk');
    await waitUntil(() => (demo.backend.counters().byStatus[429] ?? 0) >= 2, 20_000, 'the 429 storm to hit the queue');
    await setSwitch('storm', false);

    await setSwitch('down', true);
    await ui.add('Water plants');
    await ui.toggle('Bread');
    await ui.rename('Call Ada', 'Call Ada back');
    await waitUntil(() => (demo.backend.counters().faults.down ?? 0) >= 1, 20_000, 'a send to meet the backend down');
    await setSwitch('down', false);

    const tokensBefore = demo.backend.counters().tokensIssued;
    await page.click('#expire-token');
    await ui.add('Book dentist');
    await waitUntil(() => truth().todos.some((t) => t.title === 'Book dentist'), 30_000, 'the op after the token expiry');
    expect(demo.backend.counters().tokensIssued).toBeGreaterThan(tokensBefore);

    await setSwitch('conflicts', true);
    await ui.toggle('Eggs');
    await ui.remove('Bread');
    await waitUntil(async () => (await page.locator('#failed li[data-failed-id]').count()) === 2, 30_000, 'both conflicts in the dead-letter list');
    await setSwitch('conflicts', false);
    await page.click('#retry-all');

    await setSwitch('refuseRefresh', true);
    await page.click('#expire-token');
    await ui.add('Fix bike');
    await waitUntil(async () => (await statusOf('auth-required')) === 'true', 30_000, 'the page to ask for a new sign-in');
    await setSwitch('refuseRefresh', false);
    await page.click('#sign-in');

    await waitUntil(
      async () => (await statusOf('synced')) === 'true' && (await statusOf('failed')) === '0' && (await statusOf('pending')) === '0',
      45_000,
      'everything to be synced',
    );

    const server = truth();
    const ids = Object.fromEntries(server.todos.map((t) => [t.title, t.id]));
    const bread = demo.backend.applied().find((e) => e.action === 'delete')?.id ?? '';
    const actionsOf = (id: string) => demo.backend.entityLog('todos', id).map((e) => e.action);
    // Every op the user made, applied once, in the order made; nothing else.
    expect(server.todos.map((t) => [t.title, t.done])).toEqual([
      ['Milk', true],
      ['Call Ada back', false],
      ['Eggs', true],
      ['Pay rent', false],
      ['Water plants', false],
      ['Book dentist', false],
      ['Fix bike', false],
    ]);
    expect(actionsOf(ids['Milk']!)).toEqual(['create', 'update']);
    expect(actionsOf(bread)).toEqual(['create', 'update', 'delete']);
    expect(actionsOf(ids['Call Ada back']!)).toEqual(['create', 'update']);
    expect(actionsOf(ids['Eggs']!)).toEqual(['create', 'update']);
    for (const t of ['Pay rent', 'Water plants', 'Book dentist', 'Fix bike']) expect(actionsOf(ids[t]!)).toEqual(['create']);
    expect(server.byAction).toEqual({ create: 8, update: 4, delete: 1 });
    expect(server.doubled).toBe(0);

    // The page's list is the server's, and its own server panel agrees.
    expect(await ui.list()).toEqual(server.todos.map((t) => ({ id: t.id, title: t.title, done: t.done })));
    await waitUntil(async () => (await page.getAttribute('.match', 'data-match')) === 'true', 10_000, 'the page’s server panel to match');
    expect(errors).toEqual([]);
    const c = demo.backend.counters();
    // eslint-disable-next-line no-console
    console.log(
      `demo page: 13 user ops through storm/down/token expiry/conflicts/refused refresh in ${Date.now() - started} ms; ` +
        `server answers ${JSON.stringify(c.byStatus)}, ${c.tokensIssued} tokens issued, ${c.replays} replays; 0 lost, 0 doubled`,
    );
  }, 85_000);
});

/** The demo page's controls, as a person uses them. */
function demoUi(page: Page) {
  const row = (title: string) => page.locator('#todos li[data-id]', { has: page.locator('.title', { hasText: new RegExp(`^${title}$`) }) });
  return {
    async add(title: string) {
      await page.fill('#new-title', title);
      await page.press('#new-title', 'Enter');
      await row(title).waitFor();
    },
    toggle: (title: string) => row(title).locator('input[type=checkbox]').click(),
    remove: (title: string) => row(title).locator('button[aria-label=delete]').click(),
    async rename(title: string, to: string) {
      await row(title).locator('.title').dblclick();
      await page.fill('#todos input.rename', to);
      await page.press('#todos input.rename', 'Enter');
      await row(to).waitFor();
    },
    list: () =>
      page.$$eval('#todos li[data-id]', (lis) =>
        lis.map((li) => ({ id: li.getAttribute('data-id'), title: li.querySelector('.title')?.textContent, done: li.getAttribute('data-done') === 'true' })),
      ),
  };
}
