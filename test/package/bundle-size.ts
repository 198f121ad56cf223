/**
 * Bundle an entry the way a web app's build would (esbuild, minified,
 * platform browser, ES module output) and say what it weighs: minified and
 * gzipped bytes, and the minified bytes each package contributes (from
 * esbuild's metafile). Used by the size budget test and to refresh the
 * table in docs/performance.md.
 */
import { build } from 'esbuild';
import { gzipSync } from 'node:zlib';

/** One bundle's weight. */
export interface BundleSize {
  readonly minBytes: number;
  /** gzip at its default level (6), as `gzip` and most servers compress. */
  readonly gzipBytes: number;
  /** Minified bytes per package (`engine` for the package under test, `app` for the entry itself). */
  readonly perPackage: Readonly<Record<string, number>>;
  /** Every input file esbuild put in, as the metafile names it. */
  readonly inputs: readonly string[];
}

const PACKAGE = /node_modules\/((?:@[^/]+\/)?[^/]+)\//;

/**
 * @example
 * const size = await bundleSize('/tmp/app/minimal-app.mjs', '/tmp/app');
 * size.gzipBytes <= 45 * 1024;
 */
export async function bundleSize(entry: string, cwd: string, enginePackage = 'sync-engine'): Promise<BundleSize> {
  const result = await build({
    entryPoints: [entry],
    absWorkingDir: cwd,
    bundle: true,
    minify: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const js = result.outputFiles[0]!.contents;
  const output = Object.values(result.metafile.outputs)[0]!;
  const perPackage: Record<string, number> = {};
  for (const [path, { bytesInOutput }] of Object.entries(output.inputs)) {
    const name = PACKAGE.exec(path)?.[1] ?? 'app';
    const key = name === enginePackage ? 'engine' : name;
    perPackage[key] = (perPackage[key] ?? 0) + bytesInOutput;
  }
  return { minBytes: js.length, gzipBytes: gzipSync(js).length, perPackage, inputs: Object.keys(output.inputs) };
}

/** Each package's share as its minified bytes and the gzipped bytes of its code alone. */
export function formatSizes(size: BundleSize): string {
  const rows = Object.entries(size.perPackage).sort(([, a], [, b]) => b - a);
  return [
    `total: ${size.minBytes} B minified, ${size.gzipBytes} B gzip (${(size.gzipBytes / 1024).toFixed(1)} KB)`,
    ...rows.map(([name, bytes]) => `  ${name.padEnd(22)} ${String(bytes).padStart(7)} B minified`),
  ].join('\n');
}
