import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { build } from 'esbuild';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';

/**
 * Shared by the real-browser tests and benches (no jest in here): Debian's
 * chromium, an entry bundled by esbuild the way an app's bundler would, and
 * a loopback server for the page (and whatever API the test adds).
 */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Whether Debian's chromium is installed here. */
export const CHROMIUM_AVAILABLE = existsSync(CHROMIUM);

/** The page's server: `/bundle.js`, an HTML page loading it, and `api` for anything else it handles. */
export interface PageServer {
  readonly url: string;
  close(): Promise<void>;
}

/** Bundle `entry` for the browser and serve it on 127.0.0.1. `api` answers first; return true when it did. */
export async function servePage(
  entry: string,
  api?: (req: IncomingMessage, res: ServerResponse) => boolean,
): Promise<PageServer> {
  const bundle = await build({ entryPoints: [entry], bundle: true, platform: 'browser', format: 'iife', write: false, logLevel: 'silent' });
  const js = bundle.outputFiles[0].text;
  const server: Server = createServer((req, res) => {
    if (api?.(req, res)) return;
    if (req.url === '/bundle.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(js);
    else res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><script src="/bundle.js"></script>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The flags this machine needs (headless, no sandbox, no background networking). */
export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Headless chromium with the flags this machine needs (no background networking), plus `extraArgs`. */
export function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS, ...extraArgs] });
}

/**
 * The same chromium with a profile on disk in `userDataDir`: IndexedDB
 * writes go to files, as in a user's browser (`launchChromium`'s contexts
 * are off the record, their IndexedDB in memory).
 */
export function launchChromiumOnDisk(userDataDir: string, extraArgs: readonly string[] = []): Promise<BrowserContext> {
  return chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, args: [...CHROMIUM_ARGS, ...extraArgs] });
}
