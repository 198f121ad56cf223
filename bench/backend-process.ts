/**
 * The reference backend in its own process, for benchmarks: a real backend
 * never shares the client's thread (its CPU and GC would be billed to the
 * client). `startBackendProcess()` forks this file; the child starts
 * `startReferenceBackend` on loopback and answers `token`, `reset`,
 * `latency` and `stats` requests over IPC.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { startReferenceBackend } from '../src/testing';

/** The parent's handle on a backend process. */
export interface BackendProcess {
  readonly url: string;
  /** A token valid for `ttlMs` from the backend (tokens survive `reset`). */
  token(ttlMs?: number): Promise<string>;
  /** Forget every effect and stored answer (between measurements). */
  reset(): Promise<void>;
  /**
   * Hold every HTTP request `ms` before handling it (0: none) — a simulated
   * round trip. Per request, not per batch entry: a batch of 100 waits once.
   */
  latency(ms: number): Promise<void>;
  /** Effects applied since the last `reset`, and how many keys were applied more than once (must be 0). */
  stats(): Promise<BackendStats>;
  close(): Promise<void>;
}

/** What `stats()` reports. */
export interface BackendStats {
  readonly applied: number;
  readonly duplicated: number;
  readonly requests: number;
}

type Ask = { readonly t: 'token'; readonly ttlMs: number } | { readonly t: 'reset' } | { readonly t: 'latency'; readonly ms: number } | { readonly t: 'stats' };
type Request = Ask & { readonly id: number };
type Reply = { readonly id: number; readonly token?: string; readonly stats?: BackendStats };

export function startBackendProcess(): Promise<BackendProcess> {
  const child: ChildProcess = fork(__filename, [], {
    execArgv: ['-r', require.resolve('ts-node/register/transpile-only')],
    env: { ...process.env, BENCH_BACKEND_CHILD: '1', TS_NODE_TRANSPILE_ONLY: 'true' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let next = 0;
  const waiting = new Map<number, (reply: Reply) => void>();
  const ask = (req: Ask): Promise<Reply> =>
    new Promise((resolve) => {
      const id = (next += 1);
      waiting.set(id, resolve);
      child.send({ ...req, id });
    });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`backend process exited with ${code}`)));
    child.on('message', (m: Reply | { readonly url: string }) => {
      if ('url' in m) {
        resolve({
          url: m.url,
          token: async (ttlMs = 3_600_000) => (await ask({ t: 'token', ttlMs })).token as string,
          reset: async () => {
            await ask({ t: 'reset' });
          },
          latency: async (ms) => {
            await ask({ t: 'latency', ms });
          },
          stats: async () => (await ask({ t: 'stats' })).stats as BackendStats,
          close: () =>
            new Promise<void>((done) => {
              child.removeAllListeners('exit');
              child.once('exit', () => done());
              child.kill('SIGTERM');
            }),
        });
        return;
      }
      waiting.get(m.id)?.(m);
      waiting.delete(m.id);
    });
  });
}

async function serve(): Promise<void> {
  const backend = await startReferenceBackend({ tokenTtlMs: 3_600_000 });
  process.on('message', (req: Request) => {
    if (req.t === 'token') process.send?.({ id: req.id, token: backend.issueToken(req.ttlMs) });
    else if (req.t === 'latency') {
      const { ms } = req;
      backend.faults.rule(ms > 0 ? (r) => (r.batch?.entry === undefined ? { kind: 'latency', ms } : null) : undefined);
      process.send?.({ id: req.id });
    } else if (req.t === 'stats') {
      const duplicated = [...backend.effectsByKey().values()].filter((n) => n > 1).length;
      const { applied, requests } = backend.counters();
      process.send?.({ id: req.id, stats: { applied, duplicated, requests } });
    } else {
      backend.reset();
      process.send?.({ id: req.id });
    }
  });
  const stop = () => void backend.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  // The bench died without closing it: do not outlive it.
  process.on('disconnect', stop);
  process.send?.({ url: backend.url });
}

if (require.main === module && process.env.BENCH_BACKEND_CHILD === '1') {
  serve().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
