/**
 * Builds the temp project the consumer smoke test installs the packed
 * tarball into. Its package-lock is derived from the repo's own, so
 * `npm ci --offline` takes every package from the npm cache that the repo's
 * `npm ci` filled: no registry request, no version the repo did not test.
 */

/** The parts of a package-lock v3 entry the consumer lock copies. */
interface LockEntry {
  readonly version?: string;
  readonly resolved?: string;
  readonly integrity?: string;
  readonly dev?: boolean;
  readonly peer?: boolean;
  readonly [field: string]: unknown;
}

export interface RepoLock {
  readonly packages: Readonly<Record<string, LockEntry>>;
}

/** The repo's package.json, as far as the consumer lock needs it. */
export interface RepoManifest {
  readonly name: string;
  readonly version: string;
  readonly license?: string;
  readonly dependencies?: Readonly<Record<string, string>>;
  readonly peerDependencies?: Readonly<Record<string, string>>;
  readonly peerDependenciesMeta?: Readonly<Record<string, { readonly optional?: boolean }>>;
  readonly engines?: Readonly<Record<string, string>>;
}

export interface ConsumerProject {
  readonly packageJson: object;
  readonly packageLock: object;
}

const TOP = 'node_modules/';

/**
 * The consumer's package.json and package-lock.json:
 * - `sync-engine` from the tarball, with the repo's runtime dependencies
 *   (every non-dev lock entry) hoisted beside it;
 * - the required peers the repo locks (e.g. `@opentelemetry/api`);
 * - `ownCopies` (e.g. `io-ts`): the consumer depends on them itself at
 *   top level, and the package gets a second, nested copy
 *   (`node_modules/sync-engine/node_modules/io-ts`), so the two are
 *   distinct modules as they are when versions or install layouts differ;
 * - `devTypes` (e.g. `@types/node`) with their dependencies, to compile.
 *
 * @example
 * consumerProject(lock, manifest, { tarball: 'sync-engine-0.1.0.tgz', integrity, ownCopies: ['io-ts', 'fp-ts'], devTypes: ['@types/node'] });
 */
export function consumerProject(
  lock: RepoLock,
  manifest: RepoManifest,
  o: { readonly tarball: string; readonly integrity: string; readonly ownCopies: readonly string[]; readonly devTypes: readonly string[] },
): ConsumerProject {
  const entry = (name: string): LockEntry => {
    const e = lock.packages[`${TOP}${name}`];
    if (!e?.version) throw new Error(`${name} is not in the repo's package-lock.json`);
    return e;
  };
  const strip = ({ dev: _dev, peer: _peer, devOptional: _devOptional, ...rest }: LockEntry): LockEntry => rest;
  const packages: Record<string, LockEntry> = {};

  // Runtime closure of the package: every lock entry that is not dev-only.
  for (const [path, e] of Object.entries(lock.packages)) {
    if (path !== '' && e.dev !== true) packages[path] = strip(e);
  }
  const requiredPeers = Object.keys(manifest.peerDependencies ?? {}).filter((p) => manifest.peerDependenciesMeta?.[p]?.optional !== true);
  for (const peer of requiredPeers) packages[`${TOP}${peer}`] = { ...strip(entry(peer)), peer: true };
  const addWithDeps = (name: string, dev: boolean): void => {
    const e = entry(name);
    packages[`${TOP}${name}`] = dev ? { ...strip(e), dev: true } : strip(e);
    for (const dep of Object.keys((e.dependencies as Record<string, string> | undefined) ?? {})) addWithDeps(dep, dev);
  };
  for (const name of o.devTypes) addWithDeps(name, true);
  for (const name of o.ownCopies) {
    if (manifest.dependencies?.[name] === undefined) throw new Error(`${name} is not a dependency of ${manifest.name}`);
    packages[`${TOP}${manifest.name}/${TOP}${name}`] = strip(entry(name));
  }
  packages[`${TOP}${manifest.name}`] = {
    version: manifest.version,
    resolved: `file:${o.tarball}`,
    integrity: o.integrity,
    license: manifest.license,
    dependencies: manifest.dependencies,
    peerDependencies: manifest.peerDependencies,
    peerDependenciesMeta: manifest.peerDependenciesMeta,
    engines: manifest.engines,
  };

  const dependencies: Record<string, string> = { [manifest.name]: `file:${o.tarball}` };
  for (const name of o.ownCopies) dependencies[name] = entry(name).version as string;
  const devDependencies: Record<string, string> = {};
  for (const name of o.devTypes) devDependencies[name] = entry(name).version as string;
  const root = { name: 'sync-engine-consumer', version: '1.0.0', dependencies, devDependencies };
  return {
    packageJson: { ...root, private: true },
    packageLock: { name: root.name, version: root.version, lockfileVersion: 3, requires: true, packages: { '': root, ...sortKeys(packages) } },
  };
}

function sortKeys<V>(o: Record<string, V>): Record<string, V> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
