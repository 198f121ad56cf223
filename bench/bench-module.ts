/**
 * What `bench/run.ts` knows of a bench: every `bench/<name>.bench.ts`
 * exports `run()`, and may export a one-line `description` and the
 * `options` it reads (environment variables) for `npm run bench -- --help`.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** One setting a bench reads, shown by `--help`. */
export interface BenchOption {
  /** Environment variable, e.g. `BENCH_DRAIN_OPS`. */
  readonly env: string;
  /** Its default, as the bench applies it. */
  readonly default: string;
  readonly description: string;
}

/** The exports `bench/run.ts` reads from a bench file. */
export interface BenchModule {
  run(): Promise<void>;
  /** One line: what the bench measures. Default: the first line of the file's header comment. */
  readonly description?: string;
  readonly options?: readonly BenchOption[];
}

/** A bench found in the folder, before it is loaded. */
export interface BenchFile {
  /** `drain` for `drain.bench.ts`. */
  readonly name: string;
  readonly path: string;
}

/**
 * Every `*.bench.ts` in `dir`, sorted by name (found at run time, so a new
 * bench needs no registration).
 *
 * @example
 * findBenches(__dirname); // [{ name: 'drain', path: '…/drain.bench.ts' }, …]
 */
export function findBenches(dir: string): BenchFile[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.bench.ts'))
    .sort()
    .map((f) => ({ name: f.slice(0, -'.bench.ts'.length), path: join(dir, f) }));
}

/**
 * The first line of the file's leading `/** … *\/` comment: the fallback
 * description of a bench that exports none.
 *
 * @example
 * headerLine('/**\n * Drain benchmark (`npm run bench -- drain`).\n *\/'); // 'Drain benchmark (`npm run bench -- drain`).'
 */
export function headerLine(source: string): string | undefined {
  const m = /^\s*\/\*\*([\s\S]*?)\*\//.exec(source);
  if (!m) return undefined;
  const line = (m[1] ?? '')
    .split('\n')
    .map((l) => l.replace(/^\s*\*\s?/, '').trim())
    .find((l) => l.length > 0);
  return line;
}

/** A bench's description: its export, else its header's first line, else a placeholder. */
export function describeBench(file: BenchFile, mod: Pick<BenchModule, 'description'>): string {
  return mod.description ?? headerLine(readFileSync(file.path, 'utf8')) ?? '(no description)';
}
