import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { describeInChromium, launchChromium, servePage, type PageServer } from './chromium-page-server';
import { openPageAt } from './page-helpers';

/**
 * The store in a real browser: Chromium's IndexedDB through localforage,
 * Web Crypto AES-GCM, and the non-extractable device key kept in IndexedDB
 * across a page reload.
 */
describeInChromium('store in Chromium (IndexedDB + Web Crypto)', () => {
  let server: PageServer;
  let browser: Browser;

  beforeAll(async () => {
    server = await servePage(join(__dirname, 'store-entry.ts'));
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('bundles without Node built-ins, encrypts at rest, and reads back after a reload with the kept device key', async () => {
    const { page, errors } = await openPageAt(browser, server.url);
    const first = await page.evaluate(() => (globalThis as unknown as { storeTest: { write(): Promise<unknown> } }).storeTest.write());
    expect(first).toMatchObject({
      secure: true,
      titles: ['plaintext-marker-7d1c-2', 'plaintext-marker-7d1c-3'],
      rawHasPlaintext: false,
    });
    expect((first as { rawLength: number }).rawLength).toBeGreaterThan(100);

    await page.reload();
    const second = await page.evaluate(() => (globalThis as unknown as { storeTest: { reopen(): Promise<unknown> } }).storeTest.reopen());
    expect(second).toEqual({
      titles: ['plaintext-marker-7d1c-2', 'plaintext-marker-7d1c-3'],
      counts: { pending: 2, failed: 0 },
    });
    expect(errors).toEqual([]);
  }, 60_000);
});
