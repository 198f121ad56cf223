/**
 * `npm run bench`: runs every `bench/*.bench.ts` (each exports `run()` and
 * prints its own table with ratios against a limit measured in the same
 * run). `npm run bench -- store` runs only the bench named `store` (a
 * name that is no bench's selects every bench containing it, e.g. `browser`);
 * `npm run bench -- --help` lists the benches and their options.
 */
import { parseArgs } from 'node:util';
import { describeBench, findBenches, type BenchFile, type BenchModule } from './bench-module';

/** What the command line asked for. */
export type BenchCommand = { readonly kind: 'help' } | { readonly kind: 'run'; readonly filters: readonly string[] };

/**
 * Parse argv (without node and script). Throws on an unknown option.
 *
 * @example
 * parseBenchArgs(['drain', 'store']); // { kind: 'run', filters: ['drain', 'store'] }
 * parseBenchArgs(['--help']);         // { kind: 'help' }
 */
export function parseBenchArgs(argv: readonly string[]): BenchCommand {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: { help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
    strict: true,
  });
  return values.help === true ? { kind: 'help' } : { kind: 'run', filters: positionals };
}

/**
 * The benches a run selects: all without filters, else those a filter
 * names — a bench's exact name selects that bench alone (`drain` is not
 * also `browser-drain`), any other filter every bench whose name contains it.
 */
export function selectBenches(files: readonly BenchFile[], filters: readonly string[]): BenchFile[] {
  const names = new Set(files.map((f) => f.name));
  const matches = (name: string, q: string): boolean => (names.has(q) ? name === q : name.includes(q));
  return files.filter((f) => filters.length === 0 || filters.some((q) => matches(f.name, q)));
}

/** A loaded bench, as `--help` shows it. */
export interface BenchInfo {
  readonly name: string;
  readonly description: string;
  readonly options: NonNullable<BenchModule['options']>;
}

/**
 * The `--help` text.
 *
 * @example
 * formatHelp([{ name: 'drain', description: 'Drain throughput.', options: [] }]);
 */
export function formatHelp(benches: readonly BenchInfo[]): string {
  const lines = [
    'Usage: npm run bench -- [name…] [--help]',
    '',
    'Runs every bench/*.bench.ts, or the benches named (a name that is no',
    "bench's selects every bench containing it, e.g. browser). Each prints",
    'its own table; sizes are set by environment',
    'variables, e.g. BENCH_DRAIN_OPS=500 npm run bench -- drain.',
    '',
    'Benches:',
  ];
  // Names padded to the longest, so a long one (`throughput`) keeps its space.
  const nameWidth = Math.max(8, ...benches.map((b) => b.name.length)) + 2;
  for (const b of benches) {
    lines.push(`  ${b.name.padEnd(nameWidth)}${b.description}`);
    const w = Math.max(0, ...b.options.map((o) => o.env.length));
    for (const o of b.options) lines.push(`    ${o.env.padEnd(w)}  ${o.description} (default ${o.default})`);
  }
  lines.push('', 'Options:', '  -h, --help  this text');
  return lines.join('\n');
}

const load = async (file: BenchFile): Promise<BenchModule> => (await import(file.path)) as BenchModule;

async function main(argv: readonly string[]): Promise<number> {
  let cmd: BenchCommand;
  try {
    cmd = parseBenchArgs(argv);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n(npm run bench -- --help lists the benches and options)\n`);
    return 2;
  }
  const files = findBenches(__dirname);
  if (cmd.kind === 'help') {
    const infos: BenchInfo[] = [];
    for (const f of files) {
      const mod = await load(f);
      infos.push({ name: f.name, description: describeBench(f, mod), options: mod.options ?? [] });
    }
    process.stdout.write(`${formatHelp(infos)}\n`);
    return 0;
  }
  const selected = selectBenches(files, cmd.filters);
  if (selected.length === 0) {
    process.stderr.write(`no bench matches ${cmd.filters.join(', ')}; benches: ${files.map((f) => f.name).join(', ')}\n`);
    return 2;
  }
  for (const file of selected) {
    console.log(`\n## ${file.name}\n`);
    await (await load(file)).run();
  }
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
