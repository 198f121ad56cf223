/**
 * Consumer smoke test: what a user gets from `npm install sync-engine`.
 * Packs the package (`prepack` builds it), installs the tarball into a temp project
 * (dependencies from the npm cache only: `npm ci --offline` on a lock
 * derived from the repo's), compiles a strict consumer (`strict`,
 * `skipLibCheck: false`) under `moduleResolution` node16 and bundler with
 * the repo's tsc, and runs it with plain node: a 20-op sync against the
 * reference backend from the installed `sync-engine/testing`, with codecs
 * from the consumer's own io-ts copy.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { consumerProject, type RepoLock, type RepoManifest } from './consumer-project';

jest.setTimeout(300_000);

const repo = join(__dirname, '../..');
const fixture = join(__dirname, 'fixture');
const tsc = join(repo, 'node_modules/typescript/bin/tsc');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

const run = (cmd: string, args: readonly string[], cwd: string): string => {
  try {
    return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_update_notifier: 'false' } });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed in ${cwd}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
};

describe('the packed package, installed and used by a strict consumer', () => {
  let dir: string;
  let app: string;
  /** tsc's complaints per moduleResolution ('' = compiled cleanly). */
  const compiled = new Map<string, string>();

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sync-engine-consumer-'));
    app = join(dir, 'app');
    const [packed] = JSON.parse(run(npm, ['pack', '--json', '--pack-destination', dir], repo)) as [{ filename: string; integrity: string }];
    const manifest = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as RepoManifest;
    const lock = JSON.parse(readFileSync(join(repo, 'package-lock.json'), 'utf8')) as RepoLock;
    const project = consumerProject(lock, manifest, {
      tarball: `../${packed.filename}`,
      integrity: packed.integrity,
      ownCopies: ['io-ts'],
      devTypes: ['@types/node'],
    });
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), `${JSON.stringify(project.packageJson, null, 2)}\n`);
    writeFileSync(join(app, 'package-lock.json'), `${JSON.stringify(project.packageLock, null, 2)}\n`);
    for (const f of ['consumer.ts', 'tsconfig.node16.json', 'tsconfig.bundler.json']) copyFileSync(join(fixture, f), join(app, f));
    // --offline: from the cache `npm ci` filled, or fail; no install scripts.
    run(npm, ['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], app);
    // Each configuration compiled once; node16 emits the JS the sync test runs.
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
    if (dir) rmSync(dir, { recursive: true, force: true });
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

  test('a 20-op sync against the reference backend: every op committed exactly once, foreign codecs used', () => {
    expect(compiled.get('node16')).toBe('');
    const out = JSON.parse(run(process.execPath, [join(app, 'out/consumer.js')], app).trim()) as {
      committed: number;
      decoded: boolean;
      refused: string;
      effects: number[];
      applied: number;
    };
    expect(out).toEqual({ committed: 20, decoded: true, refused: 'ValidationError', effects: new Array(20).fill(1), applied: 20 });
  });
});
