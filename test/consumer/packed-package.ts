/**
 * The packed package, installed into a temp project the way a user gets
 * it: shared by the consumer smoke test (test/consumer/pack-install.test.ts)
 * and the size budget (test/package/bundle-budget.test.ts).
 *
 * `npm pack` runs `prepack` (the build, which empties dist/ first), so two
 * test files packing at once would race: packing is serialised by a lock
 * directory, and the tarball is kept per content of what goes into it
 * (sources, build configs, docs), so the second file reuses the first's.
 * The install is `npm ci --offline` on a lock derived from the repo's
 * (consumer-project.ts): no registry request.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { consumerProject, type RepoLock, type RepoManifest } from './consumer-project';

const repo = join(__dirname, '../..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** What the tarball is built from or carries: a change to any of it is a new tarball. */
const PACKED_INPUTS = ['src', 'streams', 'scripts', 'docs', 'examples/angular', 'README.md', 'package.json', 'tsconfig.json', 'tsconfig.build.json', 'tsconfig.build.esm.json'];

/** Run a command; its output on failure (never the environment). */
export function run(cmd: string, args: readonly string[], cwd: string): string {
  try {
    return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_update_notifier: 'false' } });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed in ${cwd}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
}

const walk = (path: string): string[] =>
  !existsSync(path) ? [] : statSync(path).isDirectory() ? readdirSync(path).sort().flatMap((n) => walk(join(path, n))) : [path];

function inputsHash(): string {
  const hash = createHash('sha256');
  for (const file of PACKED_INPUTS.flatMap((p) => walk(join(repo, p)))) {
    hash.update(relative(repo, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

/** Hold `lockDir` (mkdir is atomic) while `fn` runs; a lock older than 15 min is a dead run's. */
function withLock<T>(lockDir: string, fn: () => T): T {
  const wait = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    try {
      mkdirSync(lockDir);
      break;
    } catch {
      if (existsSync(lockDir) && Date.now() - statSync(lockDir).mtimeMs > 15 * 60_000) rmSync(lockDir, { recursive: true, force: true });
      Atomics.wait(wait, 0, 0, 500);
    }
  }
  try {
    return fn();
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}

/** The tarball of the current sources, copied into `dest`. */
export interface PackedTarball {
  readonly filename: string;
  readonly integrity: string;
}

/**
 * Copy the tarball of the current sources into `dest`: packed once per
 * content (per checkout), whichever test asks first.
 *
 * @example
 * const { filename, integrity } = copyPackedTarball(tempDir);
 */
export function copyPackedTarball(dest: string): PackedTarball {
  // One cache per checkout: worktrees of the repo never clear each other's.
  const cacheRoot = join(tmpdir(), `sync-engine-packed-${createHash('sha256').update(repo).digest('hex').slice(0, 12)}`);
  mkdirSync(cacheRoot, { recursive: true });
  return withLock(join(cacheRoot, 'lock'), () => {
    const dir = join(cacheRoot, inputsHash());
    const meta = join(dir, 'packed.json');
    if (!existsSync(meta)) {
      // Tarballs of earlier sources are of no further use.
      for (const old of readdirSync(cacheRoot)) if (old !== 'lock') rmSync(join(cacheRoot, old), { recursive: true, force: true });
      mkdirSync(dir);
      const [packed] = JSON.parse(run(npm, ['pack', '--json', '--pack-destination', dir], repo)) as [PackedTarball];
      writeFileSync(meta, JSON.stringify({ filename: packed.filename, integrity: packed.integrity }));
    }
    const { filename, integrity } = JSON.parse(readFileSync(meta, 'utf8')) as PackedTarball;
    copyFileSync(join(dir, filename), join(dest, filename));
    return { filename, integrity };
  });
}

/** A temp project with the packed package installed; `app` holds `files`. */
export interface InstalledPackage {
  /** Remove the temp project. */
  readonly dispose: () => void;
  readonly app: string;
}

/**
 * Install the packed package into a new temp project (see
 * `consumerProject` for `ownCopies` and `devTypes`) and copy `files` (paths
 * in the repo) into it.
 *
 * @example
 * const { app, dispose } = installPackedPackage({ ownCopies: ['io-ts'], devTypes: [], files: ['test/package/fixture/minimal-app.ts'] });
 */
export function installPackedPackage(o: { readonly ownCopies: readonly string[]; readonly devTypes: readonly string[]; readonly files: readonly string[] }): InstalledPackage {
  const dir = mkdtempSync(join(tmpdir(), 'sync-engine-consumer-'));
  const app = join(dir, 'app');
  const packed = copyPackedTarball(dir);
  const manifest = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as RepoManifest;
  const lock = JSON.parse(readFileSync(join(repo, 'package-lock.json'), 'utf8')) as RepoLock;
  const project = consumerProject(lock, manifest, { tarball: `../${packed.filename}`, integrity: packed.integrity, ownCopies: o.ownCopies, devTypes: o.devTypes });
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), `${JSON.stringify(project.packageJson, null, 2)}\n`);
  writeFileSync(join(app, 'package-lock.json'), `${JSON.stringify(project.packageLock, null, 2)}\n`);
  for (const f of o.files) copyFileSync(join(repo, f), join(app, f.split('/').pop() as string));
  // --offline: from the cache `npm ci` filled, or fail; no install scripts.
  run(npm, ['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], app);
  return { app, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}
