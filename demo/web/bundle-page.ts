import { build } from 'esbuild';

/**
 * Bundle a page entry for the browser from the package's TypeScript
 * sources, as an app's bundler would (one IIFE, no Node built-ins). Shared
 * by the web demo and the Chromium e2e tests.
 *
 * @example
 * const js = await bundlePage(join(__dirname, 'app', 'main.ts'));
 */
export async function bundlePage(entry: string, options: { readonly sourcemap?: boolean } = {}): Promise<string> {
  const out = await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'browser',
    format: 'iife',
    write: false,
    logLevel: 'silent',
    sourcemap: options.sourcemap ? 'inline' : false,
  });
  return out.outputFiles[0]!.text;
}
