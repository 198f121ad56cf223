/**
 * Size budget (issue 15): the minimal app (`createSyncEngine` +
 * `createOpStore` + `defineRoutes`, one route with an io-ts codec), bundled
 * from the packed tarball as a web app would (esbuild, minified, platform
 * browser, ES module output). The budget is 45 KB gzip; the app
 * was ~56.7 KB after the ES module build, ~66 KB once Web Locks,
 * cross-tab truth, the keyed drain, batching and the quota reserve landed,
 * and 68.6 KB (70,280 B) once the steal from an unresponsive Web Lock
 * holder, `sending` shown in every tab, merged IndexedDB commits, per-key
 * batch packing and the fresh send check landed (all in the default path);
 * localforage alone is ~9.9 KB gzip (see docs/performance.md, "What each
 * dependency costs", and "What 45 KB would take"). So two checks:
 * - a ceiling of 71 KB (today's size plus ~3.5 %): the bundle must not grow
 *   unnoticed (a CommonJS import, a ponyfill, an eager heavy dependency);
 *   raising it is a decision recorded here with what grew;
 * - the 45 KB goal, written as `test.failing` while it is not met: it
 *   turns red the day the app fits, to be made a plain `test` then (and
 *   the ceiling dropped).
 * The sizes and each package's share are printed.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { installPackedPackage, type InstalledPackage } from '../consumer/packed-package';
import { bundleSize, formatSizes, type BundleSize } from './bundle-size';

jest.setTimeout(300_000);

/** The budget (45 KB gzip), not met yet. */
const BUDGET_GZIP_BYTES = 45 * 1024;
/**
 * No growth: 70,280 B gzip measured on main after round 2 session 3's merges
 * (packed tarball, 2026-11-30), plus ~3.5 %. Was 68 KB (67,302 B + 3 %).
 */
const CEILING_GZIP_BYTES = 71 * 1024;

describe('the minimal app bundled from the packed package', () => {
  let installed: InstalledPackage | undefined;
  let size: BundleSize;

  beforeAll(async () => {
    installed = installPackedPackage({ ownCopies: [], devTypes: [], files: ['test/package/fixture/minimal-app.mjs'] });
    size = await bundleSize(join(installed.app, 'minimal-app.mjs'), installed.app);
    process.stdout.write(`minimal app, esbuild --bundle --minify --platform=browser --format=esm, from the packed tarball\n${formatSizes(size)}\n`);
  });

  afterAll(() => {
    installed?.dispose();
  });

  test(`does not grow past ${CEILING_GZIP_BYTES} B gzip`, () => {
    expect(size.gzipBytes).toBeLessThanOrEqual(CEILING_GZIP_BYTES);
  });

  // Goal not met yet (see above): passes while the bundle is over budget.
  test.failing(`is at most ${BUDGET_GZIP_BYTES / 1024} KB gzip (goal; a failing test until met)`, () => {
    expect(size.gzipBytes).toBeLessThanOrEqual(BUDGET_GZIP_BYTES);
  });

  test('comes from the ES module build, and has no fetch ponyfill, no uuid and no OpenTelemetry API', () => {
    const engineFiles = size.inputs.filter((p) => p.includes('node_modules/sync-engine/'));
    expect(engineFiles.length).toBeGreaterThan(20);
    expect(engineFiles.filter((p) => !p.includes('node_modules/sync-engine/dist/esm/'))).toEqual([]);
    expect(Object.keys(size.perPackage).filter((p) => ['cross-fetch', 'uuid', '@opentelemetry/api'].includes(p))).toEqual([]);
  });

  test('the whole browser entry bundles for the browser: no Node built-in reachable from `sync-engine`', async () => {
    // bundleSize fails the build on any import esbuild cannot resolve for
    // the browser, such as `node:http`; every export is kept alive here.
    const entry = join(installed!.app, 'everything.mjs');
    writeFileSync(entry, "export * from 'sync-engine';\n");
    const all = await bundleSize(entry, installed!.app);
    expect(all.inputs.filter((p) => p.startsWith('node:') || /^(?:fs|http|https|crypto|path|os|stream)$/.test(p))).toEqual([]);
    expect(all.perPackage).not.toHaveProperty('better-sqlite3');
  });
});
