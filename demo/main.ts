/**
 * `npm start`: the engine end to end. Starts the reference backend and an
 * engine (in a child process, on the SQLite driver in a temp directory),
 * runs a scripted story of outages and faults ending in a SIGKILL, then
 * verifies that every op was applied exactly once or parked with a reason.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startReferenceBackend, verifyDelivery, type ReferenceBackend, type DeliveryReport } from '../src/testing';
import { buildWorkload, type WorkItem } from './workload';
import type { EnqueuedEntry, FailedEntry, WorkerConfig, WorkerProgress } from './protocol';
import { spawnWorker, type WorkerHandle } from './worker-handle';
import { createProgressDisplay } from './progress';
import { waitForDrain } from './drain-wait';

export interface DemoOptions {
  readonly ops: number;
  readonly seed: number;
  readonly offlineMs: number;
  readonly crash: boolean;
  /** Give up on the drain after this long without progress (no op applied, parked or leaving the queue), ms. */
  readonly stallMs: number;
  readonly json: boolean;
}

export const DEMO_DEFAULTS: DemoOptions = {
  ops: 3000,
  seed: 42,
  offlineMs: 10_000,
  crash: true,
  stallMs: 20_000,
  json: false,
};

export const HELP = `Usage: npm start -- [options]

Runs the sync engine against the bundled reference backend through a
scripted story and verifies that nothing was lost or applied twice.

Story: online burst → offline (queue grows, nothing is sent) → 429 storm
with Retry-After (seconds and HTTP-date) → token expiry (401, refresh) →
a run of 500/502/503 and lost responses (committed, reply dropped) → a
hard crash (the engine process is SIGKILLed between the server's commit
and its own ledger write) and a restart on the same SQLite store → drain.
Some ops are invalid on the server (400) or stale (409 conflict) on
purpose: they end in failed_ops with their reason.

Options:
  --ops N           operations to enqueue (default ${DEMO_DEFAULTS.ops})
  --seed S          workload seed (default ${DEMO_DEFAULTS.seed})
  --offline-ms MS   length of the offline phase (default ${DEMO_DEFAULTS.offlineMs});
                    lower it (e.g. 3000) on a slow machine: the whole run
                    is meant to stay under a minute on 2 cores
  --no-crash        skip the SIGKILL and restart
  --stall-ms MS     give up on the drain after MS without progress — no op
                    applied, parked or leaving the queue (default ${DEMO_DEFAULTS.stallMs});
                    a run takes as long as it keeps moving, so --ops 100000
                    needs no other flag
  --json            print the verification report as JSON after the table
  --help            this text

Exit code: 0 when every op was applied exactly once or is in failed_ops
with a reason; 1 when anything was lost, doubled, reordered or left
pending; 2 on bad arguments.`;

/** Parse argv (without node and script). Throws on a bad flag. */
export function parseArgs(argv: readonly string[]): DemoOptions | 'help' {
  const o = { ...DEMO_DEFAULTS };
  const num = (flag: string, v: string | undefined, min: number): number => {
    const n = Number(v);
    if (v === undefined || !Number.isInteger(n) || n < min) throw new Error(`${flag} expects an integer ≥ ${min}`);
    return n;
  };
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i] as string;
    const [flag, inline] = a.includes('=') ? (a.split('=', 2) as [string, string]) : [a, undefined];
    const value = (): string | undefined => inline ?? argv[++i];
    switch (flag) {
      case '--help':
      case '-h':
        return 'help';
      case '--ops':
        o.ops = num(flag, value(), 10);
        break;
      case '--seed':
        o.seed = num(flag, value(), 0);
        break;
      case '--offline-ms':
        o.offlineMs = num(flag, value(), 0);
        break;
      case '--stall-ms':
        o.stallMs = num(flag, value(), 1000);
        break;
      case '--no-crash':
        o.crash = false;
        break;
      case '--json':
        o.json = true;
        break;
      default:
        throw new Error(`unknown option ${a}`);
    }
  }
  return o;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Poll `cond` every 50 ms until true or `timeoutMs`; returns whether it held. */
async function until(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (cond()) return true;
    await sleep(50);
  }
  return cond();
}

export interface DemoResult {
  readonly report: DeliveryReport;
  readonly failed: readonly FailedEntry[];
  readonly rejectedAtEnqueue: number;
  /** Requests that reached the server (token exchanges excluded). */
  readonly requestsSent: number;
  /** Re-sends of an op the server had already seen (same idempotency key). */
  readonly retries: number;
  readonly retryAfterWaits: number;
  readonly tokenRefreshes: number;
  readonly recovery?: { readonly killToLockMs: number; readonly killToCommitMs: number; readonly spawnToCommitMs: number };
  readonly server: ReturnType<ReferenceBackend['counters']>;
  readonly offlineRequests: number;
  /** Set when the drain was given up: how long it went without progress, ms. */
  readonly stalledForMs?: number;
  readonly elapsedMs: number;
  readonly ok: boolean;
}

/** Run the story; `log` gets the progress lines and the final table. */
export async function runDemo(opts: DemoOptions, out: NodeJS.WriteStream = process.stdout): Promise<DemoResult> {
  const t0 = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'sync-engine-demo-'));
  const backend = await startReferenceBackend({ tokenTtlMs: 15_000 });
  const workers: WorkerHandle[] = [];
  const progress = createProgressDisplay(out);
  // Ctrl-C: no stray engine processes, no temp files left behind.
  const onSignal = () => {
    progress.done();
    for (const w of workers) w.kill();
    rmSync(dir, { recursive: true, force: true });
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const workload = buildWorkload({ ops: opts.ops, seed: opts.seed });
    const config: WorkerConfig = {
      name: 'engine-1',
      baseUrl: backend.url,
      refreshCredential: backend.refreshCredential,
      storePath: join(dir, 'queue.sqlite'),
      keyB64: randomBytes(32).toString('base64'),
      requestTimeoutMs: 1500,
      backoff: { baseMs: 100, capMs: 1500 },
      lock: { heartbeatMs: 250, staleAfterMs: 1000 },
      online: true,
      autoStart: false,
      progressMs: 100,
    };
    const manifest = new Map<number, EnqueuedEntry>();
    let rejectedAtEnqueue = 0;
    let retryAfterBefore = 0;
    let refreshesTotal = 0;
    let phase = 'starting';
    const total = workload.length;

    let worker = spawnWorker(config);
    workers.push(worker);
    await worker.ready;

    // While a restarted worker has not taken the lock yet, keep showing the
    // last numbers of a worker that held it (a fresh one starts from zero).
    let shown: WorkerProgress | undefined;
    const tick = setInterval(() => {
      if (worker.latest?.lockHeld) shown = worker.latest;
      const p = shown ?? worker.latest;
      progress.update({
        phase,
        total,
        enqueued: manifest.size,
        applied: backend.applied().length,
        pending: p?.pending ?? 0,
        failed: p?.failed ?? 0,
        retries: Math.max(0, backend.counters().requests - backend.counters().tokenRequests - backend.counters().distinctKeys),
        elapsedMs: Date.now() - t0,
      });
    }, 200);

    const slices = sliceWorkload(workload, [0.35, 0.2, 0.15, 0.15, 0.15]);
    const enqueue = async (items: readonly WorkItem[]) => {
      const { entries, rejected } = await worker.enqueue(items.map((w) => ({ ref: w.ref, type: w.type, payload: w.payload })));
      for (const e of entries) manifest.set(e.ref, e);
      rejectedAtEnqueue += rejected.length;
    };
    const drained = () => {
      const p = worker.latest;
      return p !== undefined && p.at > Date.now() - 500 && p.pending === 0 && !p.inFlight;
    };
    const pendingBelow = (n: number) => () => (worker.latest?.pending ?? Infinity) <= n;

    try {
      // 1. Online burst.
      phase = 'online burst';
      progress.phase(phase);
      await enqueue(slices[0] ?? []);
      worker.send({ t: 'start' });
      await until(pendingBelow(Math.ceil((slices[0]?.length ?? 0) * 0.05)), 10_000);

      // 2. Offline: the queue grows, nothing is sent.
      phase = 'offline';
      progress.phase(phase);
      worker.send({ t: 'online', online: false });
      // Let the request that was in flight when the link went down end.
      await sleep(Math.min(300, opts.offlineMs));
      const apiRequests = () => backend.counters().requests - backend.counters().tokenRequests;
      const sendsBeforeOffline = apiRequests();
      await enqueue(slices[1] ?? []);
      await sleep(Math.max(0, opts.offlineMs - 300));
      const offlineRequests = apiRequests() - sendsBeforeOffline;
      worker.send({ t: 'online', online: true });

      // 3. 429 storm with Retry-After, in both forms.
      phase = '429 storm';
      progress.phase(phase);
      backend.faults.script([
        { kind: 'rateLimit', retryAfter: 1 },
        null,
        { kind: 'rateLimit', retryAfter: { dateInMs: 1000 } },
        null,
        null,
        { kind: 'rateLimit', retryAfter: 1 },
      ]);
      await enqueue(slices[2] ?? []);
      await until(() => backend.faults.scripted === 0, 15_000);

      // 4. Token expiry mid-run: 401, refresh, retry.
      phase = 'token expiry';
      progress.phase(phase);
      const refreshesBefore = worker.latest?.tokenRefreshes ?? 0;
      backend.expireTokens();
      await until(() => (worker.latest?.tokenRefreshes ?? 0) > refreshesBefore, 5000);

      // 5. A run of server errors and lost responses.
      phase = '500s + lost replies';
      progress.phase(phase);
      backend.faults.script([
        { kind: 'status', status: 500 },
        { kind: 'status', status: 502, html: true },
        { kind: 'status', status: 503 },
        null,
        { kind: 'commitThenDrop' },
        null,
        { kind: 'reset' },
        { kind: 'status', status: 500 },
        { kind: 'commitThenDrop' },
      ]);
      await enqueue(slices[3] ?? []);
      await until(() => backend.faults.scripted === 0, 15_000);

      // 6. Hard crash between the server's commit and the client's ledger write.
      let recovery: DemoResult['recovery'];
      if (opts.crash) {
        phase = 'crash';
        progress.phase(phase);
        await enqueue(slices[4] ?? []);
        const target = backend.applied().length + 50;
        let killAt = 0;
        const victim = worker;
        const off = backend.onEffect((e) => {
          if (e.seq >= target && killAt === 0) {
            victim.kill();
            killAt = Date.now();
          }
        });
        await until(() => killAt !== 0, 20_000);
        off();
        if (killAt === 0) {
          victim.kill();
          killAt = Date.now();
        }
        await victim.exited;
        // Last progress seen from the killed process (≤ 100 ms old).
        retryAfterBefore += victim.latest?.retryAfterWaits ?? 0;
        refreshesTotal += victim.latest?.tokenRefreshes ?? 0;

        phase = 'restart';
        progress.phase(phase);
        worker = spawnWorker({ ...config, name: 'engine-2', autoStart: true });
        workers.push(worker);
        // Silent until its store is open (ts-node boot, then the queue left
        // by the crash): generous, as the restart's length grows with --ops.
        const lock = worker.waitFor('lockAcquired', undefined, 120_000);
        const commit = worker.waitFor('committed', undefined, 120_000);
        await worker.ready;
        const [l, c] = await Promise.all([lock, commit]);
        recovery = { killToLockMs: l.at - killAt, killToCommitMs: c.at - killAt, spawnToCommitMs: c.at - worker.spawnedAt };
      } else {
        await enqueue(slices[4] ?? []);
      }

      // 7. Drain.
      phase = 'drain';
      progress.phase(phase);
      const drain = await waitForDrain({
        drained,
        // Ops applied, parked or leaving the queue; a restarted worker's own counters start at zero, hence the applied count from the server.
        progress: () => `${backend.applied().length}/${worker.latest?.failed ?? 0}/${worker.latest?.pending ?? -1}`,
        stallMs: opts.stallMs,
        now: Date.now,
        sleep,
      });
      clearInterval(tick);
      const rep = await worker.report();
      await worker.stop();
      progress.done();

      const byRef = new Map(workload.map((w) => [w.ref, w]));
      const enqueued = [...manifest.values()]
        .sort((a, b) => a.ref - b.ref)
        .map((e) => ({ idempotencyKey: e.idempotencyKey, createdAt: e.createdAt, order: e.ref, entity: entityOf(byRef.get(e.ref)) }));
      const failedRefs = rep.failed
        .filter((f): f is FailedEntry & { idempotencyKey: string } => f.idempotencyKey !== null)
        .map((f) => ({ idempotencyKey: f.idempotencyKey, reason: f.reason }));
      const server = backend.counters();
      const report = verifyDelivery(enqueued, backend.applied(), failedRefs, rep.pendingKeys, { strictFifo: true });
      const corruptFailed = rep.failed.length - failedRefs.length;
      const ok = drain.kind === 'drained' && report.ok && report.pending.length === 0 && corruptFailed === 0 && rejectedAtEnqueue === 0 && manifest.size === total;
      const result: DemoResult = {
        report,
        failed: rep.failed,
        rejectedAtEnqueue,
        requestsSent: server.requests - server.tokenRequests,
        retries: server.requests - server.tokenRequests - server.distinctKeys,
        retryAfterWaits: retryAfterBefore + rep.progress.retryAfterWaits,
        tokenRefreshes: refreshesTotal + rep.progress.tokenRefreshes,
        recovery,
        server,
        offlineRequests,
        stalledForMs: drain.kind === 'stalled' ? opts.stallMs : undefined,
        elapsedMs: Date.now() - t0,
        ok,
      };
      return result;
    } finally {
      clearInterval(tick);
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    progress.done();
    for (const w of workers) {
      if (w.child.exitCode === null && w.child.signalCode === null) w.kill();
      await w.exited;
    }
    await backend.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function entityOf(w: WorkItem | undefined): string | undefined {
  return w ? `${w.resource}/${w.entityId}` : undefined;
}

function sliceWorkload(items: readonly WorkItem[], shares: readonly number[]): WorkItem[][] {
  const out: WorkItem[][] = [];
  let start = 0;
  shares.forEach((share, i) => {
    const end = i === shares.length - 1 ? items.length : Math.min(items.length, start + Math.round(items.length * share));
    out.push(items.slice(start, end));
    start = end;
  });
  return out;
}

/** The verification table, as printed at the end. */
export function formatTable(r: DemoResult): string {
  const rows: [string, string, string?][] = [];
  const rep = r.report;
  const mark = (good: boolean) => (good ? 'ok' : 'FAIL');
  rows.push(['enqueued', String(rep.enqueued)]);
  rows.push(['applied exactly once', String(rep.appliedOnce)]);
  rows.push(['duplicates (must be 0)', String(rep.duplicated.length), mark(rep.duplicated.length === 0)]);
  rows.push(['lost (must be 0)', String(rep.lost.length), mark(rep.lost.length === 0)]);
  rows.push(['still pending (must be 0)', String(rep.pending.length), mark(rep.pending.length === 0)]);
  rows.push(['out of FIFO order (must be 0)', String(rep.fifoViolations), mark(rep.fifoViolations === 0 && rep.orderViolations.length === 0)]);
  const reasons = Object.entries(rep.failedByReason).sort();
  rows.push(['in failed_ops', String(reasons.reduce((a, [, n]) => a + n, 0))]);
  for (const [reason, n] of reasons) {
    const codes = [...new Set(r.failed.filter((f) => f.reason === reason).map((f) => `${f.status ?? ''} ${f.code ?? f.kind ?? ''}`.trim()))];
    rows.push([`  ${reason}`, String(n), codes.join(', ')]);
  }
  if (rep.failedButApplied.length > 0) rows.push(['  of which applied by the server', String(rep.failedButApplied.length)]);
  rows.push(['requests sent', String(r.requestsSent)]);
  rows.push(['retries (re-sends of a key)', String(r.retries)]);
  rows.push(['Retry-After waits honoured', String(r.retryAfterWaits), `${r.server.byStatus[429] ?? 0} × 429 answered`]);
  rows.push(['token refreshes', String(r.tokenRefreshes), `${r.server.unauthorized} × 401 answered`]);
  rows.push(['idempotent replays (server)', String(r.server.replays), 'answers replayed after a lost reply or a crash']);
  rows.push(['requests while offline (must be 0)', String(r.offlineRequests), mark(r.offlineRequests === 0)]);
  rows.push(['e2e latency p50 / p95', `${rep.latencyMs.p50} / ${rep.latencyMs.p95} ms`, 'enqueue → server commit, outage waits included']);
  if (r.recovery) {
    rows.push(['recovery after SIGKILL', `${r.recovery.killToCommitMs} ms`, `lock taken after ${r.recovery.killToLockMs} ms; restart → processing ${r.recovery.spawnToCommitMs} ms`]);
  }
  const faults = Object.entries(r.server.faults)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  rows.push(['faults injected', '', faults || 'none']);
  if (r.stalledForMs !== undefined) rows.push(['drain stalled', `${(r.stalledForMs / 1000).toFixed(0)} s`, 'FAIL: no op applied, parked or left the queue for that long']);
  rows.push(['elapsed', `${(r.elapsedMs / 1000).toFixed(1)} s`]);
  const w0 = Math.max(...rows.map((x) => x[0].length));
  const w1 = Math.max(...rows.map((x) => x[1].length));
  const lines = rows.map(([a, b, c]) => `  ${a.padEnd(w0)}  ${b.padStart(w1)}${c ? `  ${c}` : ''}`);
  const verdict = r.ok
    ? 'VERIFIED: every op applied exactly once or parked in failed_ops with its reason.'
    : 'NOT VERIFIED: see the rows marked FAIL.';
  return ['', 'Verification', ...lines, '', verdict, ''].join('\n');
}

async function cli(): Promise<number> {
  let opts: DemoOptions | 'help';
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${HELP}\n`);
    return 2;
  }
  if (opts === 'help') {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  process.stdout.write(`sync-engine demo: ${opts.ops} ops, seed ${opts.seed}, offline ${opts.offlineMs} ms${opts.crash ? ', with crash' : ''}\n`);
  const result = await runDemo(opts);
  process.stdout.write(formatTable(result));
  if (opts.json) process.stdout.write(`${JSON.stringify({ ...result, failed: undefined }, null, 2)}\n`);
  return result.ok ? 0 : 1;
}

if (require.main === module) {
  cli().then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`demo failed: ${err instanceof Error ? err.message : 'unknown error'}\n`);
      process.exit(1);
    },
  );
}
