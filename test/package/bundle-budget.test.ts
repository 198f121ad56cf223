/**
 * Size budget (issue 15): the minimal app (`createSyncEngine` +
 * `createOpStore` + `defineRoutes`, one route with an io-ts codec), bundled
 * from the packed tarball as a web app would (esbuild, minified, platform
 * browser, ES module output), must stay within 45 KB gzip. The sizes and
 * each package's share are printed; docs/performance.md keeps the table.
 */
import { join } from 'node:path';
import { installPackedPackage, type InstalledPackage } from '../consumer/packed-package';
import { bundleSize, formatSizes, type BundleSize } from './bundle-size';

jest.setTimeout(300_000);

const BUDGET_GZIP_BYTES = 45 * 1024;

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

  test(`is at most ${BUDGET_GZIP_BYTES / 1024} KB gzip`, () => {
    expect(size.gzipBytes).toBeLessThanOrEqual(BUDGET_GZIP_BYTES);
  });

  test('comes from the ES module build, and has no ponyfill, no uuid, no fp-ts module and no OpenTelemetry API', () => {
    const engineFiles = size.inputs.filter((p) => p.includes('node_modules/sync-engine/'));
    expect(engineFiles.length).toBeGreaterThan(20);
    expect(engineFiles.filter((p) => !p.includes('node_modules/sync-engine/dist/esm/'))).toEqual([]);
    expect(Object.keys(size.perPackage).filter((p) => ['cross-fetch', 'uuid', 'fp-ts', '@opentelemetry/api'].includes(p))).toEqual([]);
  });

  test('the whole browser entry bundles for the browser: no Node built-in reachable from `sync-engine`', async () => {
    // bundleSize fails the build on any import esbuild cannot resolve for
    // the browser, such as `node:http`; every export is kept alive here.
    const { writeFileSync } = await import('node:fs');
    const entry = join(installed!.app, 'everything.mjs');
    writeFileSync(entry, "export * from 'sync-engine';\n");
    const all = await bundleSize(entry, installed!.app);
    expect(all.inputs.filter((p) => p.startsWith('node:') || /^(?:fs|http|https|crypto|path|os|stream)$/.test(p))).toEqual([]);
    expect(all.perPackage).not.toHaveProperty('better-sqlite3');
  });
});
