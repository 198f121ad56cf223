/**
 * Handover benchmark in Chromium (`npm run bench -- handover`), with the
 * defaults a web app gets (Web Locks processor lock, IndexedDB store):
 *
 * 1. reload → first send: a page draining a queue is reloaded at random
 *    points (HANDOVER_BENCH_RELOADS times); measured in each new page,
 *    from its engine's `start()` to its first request (goal < 200 ms;
 *    ~2.5 s with the storage lock, which waited for the old page's record
 *    to go stale);
 * 2. tab close → takeover: two tabs on one store, the sending one closed
 *    (HANDOVER_BENCH_CLOSES times, fresh tabs each); measured from
 *    `page.close()` to the server receiving the other tab's first request
 *    (goal < 500 ms; ~3 s with the storage lock).
 *
 * Every run also checks what the Chromium suite asserts: each op applied
 * once, in order, never two senders at once; a run that breaks it fails
 * the bench. Needs Debian's chromium (`CHROMIUM_PATH`).
 */
import type { BenchOption } from './bench-module';
import { launchChromium } from '../test/browser/chromium-page-server';
import { HANDOVER_CHROMIUM_ARGS, closeSendingTab, reloadMidDrain, type HandoverRun } from '../test/browser/handover-scenarios';
import { ms, ofGoal, printTable, quantile } from './bench-stats';

/** For `npm run bench -- --help`. */
export const description = 'Chromium, Web Locks lock: reload → first send (goal < 200 ms), sending tab closed → takeover (goal < 500 ms).';
/** For `npm run bench -- --help`: the sizes read below. */
export const options: readonly BenchOption[] = [
  { env: 'HANDOVER_BENCH_RELOADS', default: '10', description: 'reloads mid-drain (one page, one queue)' },
  { env: 'HANDOVER_BENCH_CLOSES', default: '5', description: 'sending tabs closed (two fresh tabs each)' },
];

const RELOADS = Number(process.env.HANDOVER_BENCH_RELOADS ?? 10);
const CLOSES = Number(process.env.HANDOVER_BENCH_CLOSES ?? 5);
const RELOAD_GOAL_MS = 200;
const TAKEOVER_GOAL_MS = 500;


/** Throws unless the run applied every op once, in order, with one sender at a time. */
function verify(run: HandoverRun, what: string): void {
  const ok =
    run.backend.effects.length === run.ids.length &&
    run.backend.effects.every((id, i) => id === run.ids[i]) &&
    run.backend.overlaps().length === 0 &&
    run.pageErrors.length === 0;
  if (!ok) throw new Error(`${what}: lost, doubled, reordered or two senders at once`);
}

export async function run(): Promise<void> {
  const browser = await launchChromium(HANDOVER_CHROMIUM_ARGS);
  try {
    const reload = await reloadMidDrain(browser, { ops: 40 * RELOADS, reloads: RELOADS, seed: 11, delayMs: 5 });
    verify(reload, 'reload mid-drain');
    const takeovers: number[] = [];
    for (let i = 0; i < CLOSES; i += 1) {
      const r = await closeSendingTab(browser, { ops: 40, delayMs: 20 });
      verify(r, 'tab close');
      takeovers.push(...r.times);
    }
    const rows: string[][] = [['measure', 'runs', 'p50', 'max', 'goal', 'ratio (max)']];
    const row = (name: string, xs: readonly number[], goal: number) =>
      rows.push([name, String(xs.length), ms(quantile(xs, 0.5)), ms(Math.max(...xs)), `< ${goal} ms`, ofGoal(Math.max(...xs), goal)]);
    row('reload → first send (new page: start() → first request)', reload.times, RELOAD_GOAL_MS);
    row('sending tab closed → takeover (close() → first request at the server)', takeovers, TAKEOVER_GOAL_MS);
    printTable(rows);
    console.log(`(every run: each op applied once, in order, one sender at a time; reload runs: ${reload.ids.length} ops)`);
  } finally {
    await browser.close();
  }
}
