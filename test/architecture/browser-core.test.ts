import { readFileSync, readdirSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';

/**
 * The core (src/ and streams/) must bundle for browsers: no Node built-ins,
 * no native modules, no direct timers/clock/randomness. Node-only code lives
 * in the entry points src/node/ and src/testing/.
 */
const root = join(__dirname, '..', '..');
const NODE_ONLY = ['src/node/', 'src/testing/'];

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

const coreFiles = ['src', 'streams']
  .flatMap((d) => sources(join(root, d)))
  .map((p) => relative(root, p).split('\\').join('/'))
  .filter((p) => !NODE_ONLY.some((prefix) => p.startsWith(prefix)));

const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
const importRe = /(?:from\s+|import\s*\(\s*|require\s*\(\s*)['"]([^'"]+)['"]/g;

describe('browser-first core', () => {
  it('has core files to check', () => {
    expect(coreFiles.length).toBeGreaterThan(5);
  });

  it.each(coreFiles)('%s imports no Node built-in or native module', (file) => {
    const text = readFileSync(join(root, file), 'utf8');
    const specifiers = [...text.matchAll(importRe)].map((m) => m[1]);
    const bad = specifiers.filter((s) => builtins.has(s) || s === 'better-sqlite3' || NODE_ONLY.some((p) => s.includes(p.replace('src/', ''))));
    expect(bad).toEqual([]);
  });

  // Bundle weight (docs/performance.md, "What each dependency costs"): the
  // browser gets its own fetch, ids from src/op/uuid.ts, Either from src/fp,
  // and the OpenTelemetry API's types only (src/observability/otel-globals.ts).
  it.each(coreFiles)('%s imports no ponyfill, uuid or fp-ts module, and the OpenTelemetry API for types only', (file) => {
    const text = readFileSync(join(root, file), 'utf8');
    const runtime = [...text.matchAll(/^\s*(import|export)\s+(?!type\b)[^;]*?from\s+['"]([^'"]+)['"]/gm)].map((m) => m[2] as string);
    expect(runtime.filter((s) => s === 'cross-fetch' || s === 'uuid' || s.startsWith('fp-ts') || s.startsWith('@opentelemetry/'))).toEqual([]);
  });

  it.each(coreFiles)('%s takes time and randomness by injection', (file) => {
    const code = readFileSync(join(root, file), 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/\/\/.*$/gm, '');
    expect(code).not.toMatch(/\bDate\.now\(|\bMath\.random\(|(?<![.\w])setTimeout\(|\bsetInterval\(|\bretryWhen\b/);
  });
});
