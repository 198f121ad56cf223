import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Logging and redaction live in the low-level `src/log/`, usable by `src/auth/`
 * (the token manager logs refreshes) without reaching up into
 * `src/observability/`, which sits above the engine.
 */
const root = join(__dirname, '..', '..');
const importRe = /(?:from\s+|import\s*\(\s*|require\s*\(\s*)['"]([^'"]+)['"]/g;

const filesOf = (dir: string): string[] =>
  readdirSync(join(root, dir))
    .filter((f) => f.endsWith('.ts'))
    .map((f) => `${dir}/${f}`);

describe('src/log is below src/auth and src/observability', () => {
  const files = [...filesOf('src/auth'), ...filesOf('src/log')];

  it('has files to check', () => {
    expect(files).toEqual(expect.arrayContaining(['src/auth/token-manager.ts', 'src/log/logger.ts', 'src/log/redact.ts']));
  });

  it.each(files)('%s imports nothing from src/observability, src/engine or streams', (file) => {
    const text = readFileSync(join(root, file), 'utf8');
    const specifiers = [...text.matchAll(importRe)].map((m) => m[1]);
    expect(specifiers.filter((s) => /(^|\/)(observability|engine|streams)(\/|$)/.test(s))).toEqual([]);
  });
});
