/**
 * Browser tabs benchmark (`npm run bench -- browser-tabs`), in Chromium
 * (playwright-core driving Debian's chromium; skipped when it is missing):
 * two and three tabs of one origin, each a whole engine on one IndexedDB
 * store with the browser defaults (storage lock, the cross-tab
 * BroadcastChannel and its wake; idle poll a minute). Ops are enqueued in
 * every tab in turn, each once the server has the previous one (so the
 * queue is idle and the time is the wake's), then again without waiting
 * (a burst: ops also wait behind earlier ones). Measured: from `enqueue`
 * in a tab that does not hold the lock to the server receiving the op
 * (goal < 100 ms; before the
 * cross-tab wake was on by default it waited for the 5 s idle poll, 2.9–3.9
 * s measured), over BROWSER_TABS_ROUNDS runs of BROWSER_TABS_OPS ops per
 * tab. The same scenario is asserted on (every outcome once in every tab,
 * identical views) by test/browser/truth-in-chromium.test.ts.
 */
import type { BenchOption } from './bench-module';
import { CHROMIUM, CHROMIUM_AVAILABLE, launchChromium } from '../test/browser/chromium';
import { TAB_FLAGS, percentile, runTruthScenario, startTruthServer } from '../test/browser/truth-tabs';

/** For `npm run bench -- --help`. */
export const description = 'Chromium, 2 and 3 tabs on one IndexedDB store: enqueue in a tab without the lock → server (goal < 100 ms).';
/** For `npm run bench -- --help`. */
export const options: readonly BenchOption[] = [
  { env: 'BROWSER_TABS_OPS', default: '10', description: 'ops enqueued per tab per run' },
  { env: 'BROWSER_TABS_ROUNDS', default: '3', description: 'runs per tab count' },
];

const OPS = Number(process.env.BROWSER_TABS_OPS ?? 10);
const ROUNDS = Number(process.env.BROWSER_TABS_ROUNDS ?? 3);

export async function run(): Promise<void> {
  if (!CHROMIUM_AVAILABLE) {
    console.log(`browser-tabs: skipped (no chromium at ${CHROMIUM})`);
    return;
  }
  const server = await startTruthServer();
  const browser = await launchChromium(TAB_FLAGS);
  const rows: Array<[string, string]> = [];
  try {
    for (const tabs of [2, 3]) {
      const latencies: number[] = [];
      const bursts: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        const result = await runTruthScenario(browser, server, { name: `bench-${tabs}-${r}`, tabs, opsPerTab: OPS, badEvery: 1_000_000, oneAtATime: true });
        latencies.push(...result.nonHolderLatencyMs);
        const burst = await runTruthScenario(browser, server, { name: `burst-${tabs}-${r}`, tabs, opsPerTab: OPS, badEvery: 1_000_000 });
        bursts.push(...burst.nonHolderLatencyMs);
      }
      const ms = (x: number) => `${x.toFixed(0)} ms`;
      rows.push([
        `${tabs} tabs: enqueue in a non-holder tab → server`,
        `p50 ${ms(percentile(latencies, 50))}, p99 ${ms(percentile(latencies, 99))}, max ${ms(Math.max(...latencies))} (${latencies.length} ops, queue idle; goal < 100 ms)`,
      ]);
      rows.push([
        `${tabs} tabs: the same, every tab enqueueing in turn`,
        `p50 ${ms(percentile(bursts, 50))}, p99 ${ms(percentile(bursts, 99))}, max ${ms(Math.max(...bursts))} (${bursts.length} ops; includes waiting behind earlier ops)`,
      ]);
    }
  } finally {
    await browser.close();
    await server.close();
  }
  const w = Math.max(...rows.map((r) => r[0].length));
  console.log(`${OPS} ops per tab per run, ${ROUNDS} runs per tab count, Chromium headless, loopback server, idle poll 60 s\n`);
  for (const [k, v] of rows) console.log(`  ${k.padEnd(w)}  ${v}`);
}
