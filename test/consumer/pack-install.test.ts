/**
 * Consumer smoke test: what a user gets from `npm install sync-engine`.
 * Packs the package (`prepack` builds it), installs the tarball into a temp project
 * (dependencies from the npm cache only: `npm ci --offline` on a lock
 * derived from the repo's), compiles a strict consumer (`strict`,
 * `skipLibCheck: false`) under `moduleResolution` node16 and bundler with
 * the repo's tsc, and runs it with plain node: a 20-op sync against the
 * reference backend from the installed `sync-engine/testing`, with codecs
 * from the consumer's own io-ts copy — once as CommonJS (`require`), once
 * as an ES module (`import`, the same source as `consumer.mts`).
 */
import { copyFileSync, existsSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { installPackedPackage, run, type InstalledPackage } from './packed-package';

jest.setTimeout(300_000);

const tsc = join(__dirname, '../../node_modules/typescript/bin/tsc');

describe('the packed package, installed and used by a strict consumer', () => {
  let installed: InstalledPackage | undefined;
  let app: string;
  /** tsc's complaints per moduleResolution ('' = compiled cleanly). */
  const compiled = new Map<string, string>();

  beforeAll(() => {
    installed = installPackedPackage({
      ownCopies: ['io-ts'],
      devTypes: ['@types/node'],
      files: ['consumer.ts', 'tsconfig.node16.json', 'tsconfig.bundler.json'].map((f) => `test/consumer/fixture/${f}`),
    });
    app = installed.app;
    // The same consumer as an ES module (`.mts`): node16 resolves its
    // imports through the `import` conditions, the `.ts` through `require`.
    copyFileSync(join(app, 'consumer.ts'), join(app, 'consumer.mts'));
    // Each configuration compiled once; node16 emits the JS the sync tests run.
    for (const resolution of ['node16', 'bundler']) {
      try {
        run(process.execPath, [tsc, '-p', `tsconfig.${resolution}.json`], app);
        compiled.set(resolution, '');
      } catch (err) {
        compiled.set(resolution, (err as Error).message);
      }
    }
  });

  afterAll(() => {
    installed?.dispose();
  });

  test('the consumer has its own io-ts, distinct from the package\'s', () => {
    const own = realpathSync(join(app, 'node_modules/io-ts'));
    const theirs = realpathSync(join(app, 'node_modules/sync-engine/node_modules/io-ts'));
    expect(own).not.toBe(theirs);
  });

  test('the tarball carries the README and the docs it links to', () => {
    const pkg = join(app, 'node_modules/sync-engine');
    const readme = readFileSync(join(pkg, 'README.md'), 'utf8');
    const links = [...readme.matchAll(/\]\(((?!https?:)[^)#\s]+)/g)].map((m) => m[1] as string);
    expect(links.length).toBeGreaterThan(0);
    expect(links.filter((l) => !existsSync(join(pkg, l)))).toEqual([]);
  });

  test.each(['node16', 'bundler'])('compiles with strict and skipLibCheck false under moduleResolution %s', (resolution) => {
    expect(compiled.get(resolution)).toBe('');
  });

  test.each([
    ['CommonJS (require)', 'out/consumer.js'],
    ['an ES module (import)', 'out/consumer.mjs'],
  ])('a 20-op sync against the reference backend from %s: every op committed exactly once, foreign codecs used', (_, script) => {
    expect(compiled.get('node16')).toBe('');
    const out = JSON.parse(run(process.execPath, [join(app, script)], app).trim()) as {
      committed: number;
      decoded: boolean;
      refused: string;
      effects: number[];
      applied: number;
    };
    expect(out).toEqual({ committed: 20, decoded: true, refused: 'ValidationError', effects: new Array(20).fill(1), applied: 20 });
  });

  test('loads the ES module build for import and the CommonJS build for require', () => {
    const probe = [
      "import { createRequire } from 'node:module';",
      "const require = createRequire(import.meta.url);",
      "const resolved = { import: import.meta.resolve('sync-engine'), require: require.resolve('sync-engine') };",
      "for (const sub of ['node', 'testing']) { resolved[`import ${sub}`] = import.meta.resolve(`sync-engine/${sub}`); resolved[`require ${sub}`] = require.resolve(`sync-engine/${sub}`); }",
      "process.stdout.write(JSON.stringify(Object.fromEntries(Object.entries(resolved).map(([k, v]) => [k, v.replace(/^.*node_modules\\/sync-engine\\//, '')]))));",
    ].join('\n');
    const resolved = JSON.parse(run(process.execPath, ['--input-type=module', '-e', probe], app)) as Record<string, string>;
    expect(resolved).toEqual({
      import: 'dist/esm/src/index.js',
      require: 'dist/src/index.js',
      'import node': 'dist/esm/src/node/index.js',
      'require node': 'dist/src/node/index.js',
      'import testing': 'dist/esm/src/testing/index.js',
      'require testing': 'dist/src/testing/index.js',
    });
  });
});
