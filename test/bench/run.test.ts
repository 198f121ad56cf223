import { join } from 'node:path';
import { describeBench, findBenches, headerLine, type BenchModule } from '../../bench/bench-module';
import { formatHelp, parseBenchArgs, selectBenches } from '../../bench/run';

const benchDir = join(__dirname, '../../bench');

describe('npm run bench: command line', () => {
  test('--help and -h ask for help instead of filtering benches by the name "--help"', () => {
    expect(parseBenchArgs(['--help'])).toEqual({ kind: 'help' });
    expect(parseBenchArgs(['-h'])).toEqual({ kind: 'help' });
    expect(parseBenchArgs(['drain', '--help'])).toEqual({ kind: 'help' });
  });

  test('names are filters; none runs every bench', () => {
    expect(parseBenchArgs([])).toEqual({ kind: 'run', filters: [] });
    expect(parseBenchArgs(['drain', 'store'])).toEqual({ kind: 'run', filters: ['drain', 'store'] });
    const files = [
      { name: 'drain', path: '/b/drain.bench.ts' },
      { name: 'startup', path: '/b/startup.bench.ts' },
      { name: 'store', path: '/b/store.bench.ts' },
    ];
    expect(selectBenches(files, []).map((f) => f.name)).toEqual(['drain', 'startup', 'store']);
    expect(selectBenches(files, ['st']).map((f) => f.name)).toEqual(['startup', 'store']);
    expect(selectBenches(files, ['nothing'])).toEqual([]);
  });

  test("a bench's exact name selects it alone, not every bench containing it", () => {
    const files = ['browser-drain', 'drain', 'store'].map((name) => ({ name, path: `${name}.bench.ts` }));
    expect(selectBenches(files, ['drain']).map((f) => f.name)).toEqual(['drain']);
    expect(selectBenches(files, ['rain']).map((f) => f.name)).toEqual(['browser-drain', 'drain']);
    expect(selectBenches(files, ['drain', 'store']).map((f) => f.name)).toEqual(['drain', 'store']);
  });

  test('an unknown option is refused, not taken for a filter', () => {
    expect(() => parseBenchArgs(['--frobnicate'])).toThrow(/--frobnicate/);
  });
});

describe('npm run bench -- --help', () => {
  test('benches are found in the folder, so a new *.bench.ts needs no registration', () => {
    const names = findBenches(benchDir).map((f) => f.name);
    expect(names).toEqual(expect.arrayContaining(['drain', 'store', 'throughput']));
    expect(names).not.toContain('run');
    expect(names).not.toContain('backend-process');
    expect(names).not.toContain('memory-store');
  });

  test('a bench without a description export is described by its header comment', () => {
    expect(headerLine('/**\n * Start-up benchmark (`npm run bench -- startup`), on SQLite.\n *\n * More.\n */\nimport x;')).toBe(
      'Start-up benchmark (`npm run bench -- startup`), on SQLite.',
    );
    expect(headerLine('import x;')).toBeUndefined();
  });

  test('lists every bench with its one-line description and its options', async () => {
    const files = findBenches(benchDir);
    const infos = [];
    for (const f of files) {
      const mod = (await import(f.path)) as BenchModule;
      infos.push({ name: f.name, description: describeBench(f, mod), options: mod.options ?? [] });
    }
    const help = formatHelp(infos);
    for (const f of files) expect(help).toMatch(new RegExp(`^  ${f.name} +\\S`, 'm'));
    expect(help).toMatch(/^ {4}BENCH_DRAIN_OPS +ops per throughput round \(default 2000\)$/m);
    expect(help).toMatch(/^ {4}STORE_BENCH_APPENDS +timed appends \(default 3000\)$/m);
    expect(help).toMatch(/^ {4}BENCH_THROUGHPUT_OPS +ops in the backlog \(default 10000\)$/m);
    expect(help).toMatch(/^ {4}BENCH_THROUGHPUT_LATENCIES +injected per-request latencies, ms \(default 0,50\)$/m);
    expect(help).toMatch(/--help/);
    expect(help).not.toMatch(/no description/);
  });
});
