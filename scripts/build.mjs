/**
 * `npm run build`: the package's two builds from the same sources.
 * - dist/     CommonJS (tsconfig.build.json), for `require`;
 * - dist/esm/ ES modules (tsconfig.build.esm.json), for `import` and for
 *   bundlers, which only tree-shake ES modules. tsc keeps the sources'
 *   extensionless relative specifiers (`'./x'`); Node's ESM loader needs
 *   full ones, so each is completed here to `./x.js` or `./x/index.js`, in
 *   the `.js` and the `.d.ts` files, and dist/esm/package.json marks the
 *   folder `"type": "module"`.
 * dist/ is emptied first, so a removed source never ships.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const esm = join(root, 'dist/esm');

rmSync(join(root, 'dist'), { recursive: true, force: true });
for (const project of ['tsconfig.build.json', 'tsconfig.build.esm.json']) {
  execFileSync(process.execPath, [tsc, '-p', project], { cwd: root, stdio: 'inherit' });
}

const files = (dir) =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });

// `from './x'`, `import('./x')`, `export … from '../x'`, `import './x'`.
const SPECIFIER = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])(\.\.?\/[^'"]*)\2/g;

/** `./x` → `./x.js` or `./x/index.js`, as the built file it names. */
function complete(fromFile, spec) {
  if (/\.(?:m?js|json)$/.test(spec)) return spec;
  const base = resolve(dirname(fromFile), spec);
  if (existsSync(`${base}.js`)) return `${spec}.js`;
  if (existsSync(join(base, 'index.js'))) return `${spec}/index.js`;
  throw new Error(`${fromFile}: cannot resolve ${spec}`);
}

let rewritten = 0;
for (const file of files(esm).filter((f) => f.endsWith('.js') || f.endsWith('.d.ts'))) {
  const text = readFileSync(file, 'utf8');
  const next = text.replace(SPECIFIER, (_, lead, quote, spec) => `${lead}${quote}${complete(file, spec)}${quote}`);
  if (next !== text) {
    writeFileSync(file, next);
    rewritten += 1;
  }
}
writeFileSync(join(esm, 'package.json'), `${JSON.stringify({ type: 'module', sideEffects: ['./src/node/index.js'] }, null, 2)}\n`);
process.stderr.write(`build: dist/ (CommonJS) and dist/esm/ (ES modules, ${rewritten} files' specifiers completed)\n`);
