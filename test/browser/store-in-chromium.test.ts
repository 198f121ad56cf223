import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { build } from 'esbuild';
import { chromium, type Browser } from 'playwright-core';

/**
 * The store in a real browser: Chromium's IndexedDB through localforage,
 * Web Crypto AES-GCM, and the non-extractable device key kept in IndexedDB
 * across a page reload. `.ci/run` installs Debian's chromium; locally the
 * test is skipped (with a notice) when it is absent.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
if (!available && process.env.CI) throw new Error(`chromium not found at ${CHROMIUM}: .ci/run must install it`);
const maybe = available ? describe : describe.skip;
if (!available) console.warn(`skipping browser tests: no chromium at ${CHROMIUM}`);

maybe('store in Chromium (IndexedDB + Web Crypto)', () => {
  let server: Server;
  let browser: Browser;
  let url: string;

  beforeAll(async () => {
    const bundle = await build({
      entryPoints: [join(__dirname, 'store-entry.ts')],
      bundle: true,
      platform: 'browser',
      format: 'iife',
      write: false,
      logLevel: 'silent',
    });
    const js = bundle.outputFiles[0].text;
    server = createServer((req, res) => {
      if (req.url === '/bundle.js') {
        res.writeHead(200, { 'content-type': 'text/javascript' }).end(js);
      } else {
        res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><script src="/bundle.js"></script>');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => server?.close(resolve));
  });

  it('bundles without Node built-ins, encrypts at rest, and reads back after a reload with the kept device key', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url);
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
