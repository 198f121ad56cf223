/**
 * `npm run bench`: runs every `bench/*.bench.ts` (each exports `run()` and
 * prints its own table with ratios against a limit measured in the same
 * run). `npm run bench -- store` runs only the files whose name matches.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

async function main(): Promise<void> {
  const filter = process.argv[2];
  const files = readdirSync(__dirname)
    .filter((f) => f.endsWith('.bench.ts'))
    .filter((f) => !filter || f.includes(filter))
    .sort();
  if (files.length === 0) {
    console.log('no benchmarks match');
    return;
  }
  for (const file of files) {
    console.log(`\n## ${file.replace('.bench.ts', '')}\n`);
    const mod = (await import(join(__dirname, file))) as { run: () => Promise<void> };
    await mod.run();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
