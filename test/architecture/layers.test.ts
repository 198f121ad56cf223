import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/**
 * Layers point down. A file may import from its own layer or a lower one,
 * never from a higher one; adding a folder means placing it here first.
 */
const LAYERS: readonly (readonly string[])[] = [
  ['src/fp', 'src/errors', 'src/crypto', 'src/log'],
  ['src/policy', 'src/router', 'src/op', 'src/idempotency', 'src/security'],
  ['src/drivers', 'src/store', 'src/api', 'src/auth', 'src/lock', 'src/wake'],
  ['streams'],
  ['src/engine'],
  ['src/observability', 'src/optimistic'],
  // The composition root (builds the engine, attaches observability) and the entry points.
  ['src/create-sync-engine.ts', 'src/index.ts', 'src/node', 'src/testing'],
];

const root = join(__dirname, '..', '..');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

const rel = (p: string): string => relative(root, p).split('\\').join('/');

function layerOf(file: string): number {
  const i = LAYERS.findIndex((layer) => layer.some((place) => file === place || file.startsWith(`${place}/`)));
  if (i < 0) throw new Error(`${file} is in no layer: place its folder in LAYERS`);
  return i;
}

const importRe = /(?:from\s+|import\s*\(\s*)['"](\.[^'"]+)['"]/g;

/** A relative specifier as the repo path of the file it names (`x` → `x.ts` or `x/index.ts`). */
function resolveImport(fromAbs: string, spec: string): string {
  const base = resolve(dirname(fromAbs), spec);
  const file = [`${base}.ts`, join(base, 'index.ts')].find((p) => existsSync(p)) ?? `${base}.ts`;
  return rel(file);
}

/** Every relative import of every file in src/ and streams/. */
const edges = ['src', 'streams']
  .flatMap((d) => sources(join(root, d)))
  .flatMap((abs) => [...readFileSync(abs, 'utf8').matchAll(importRe)].map((m) => ({ from: rel(abs), to: resolveImport(abs, m[1]!) })));

describe('layers', () => {
  it('finds the import graph', () => {
    expect(edges.length).toBeGreaterThan(100);
  });

  it('places every file in a layer', () => {
    expect(() => edges.forEach(({ from, to }) => [layerOf(from), layerOf(to)])).not.toThrow();
  });

  it('has no import from a lower layer to a higher one', () => {
    const upward = edges
      .filter(({ from, to }) => layerOf(to) > layerOf(from))
      .map(({ from, to }) => `${from} -> ${to}`);
    expect(upward).toEqual([]);
  });

  it('catches an upward import (the check itself can fail)', () => {
    expect(layerOf('streams/process-op.ts')).toBeLessThan(layerOf('src/engine/sync-engine.ts'));
    expect(layerOf('src/lock/storage-lock.ts')).toBeLessThan(layerOf('streams/ports.ts'));
  });
});
