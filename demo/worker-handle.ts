import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { EnqueueItem, EnqueuedEntry, FromWorker, ToWorker, WorkerConfig, WorkerProgress } from './protocol';

type Msg<T extends FromWorker['t']> = Extract<FromWorker, { t: T }>;

/** The parent's side of an engine worker process. */
export interface WorkerHandle {
  readonly name: string;
  readonly child: ChildProcess;
  /** Wall time the process was spawned (epoch ms). */
  readonly spawnedAt: number;
  /** Resolves when the worker has opened its store and engine. */
  readonly ready: Promise<Msg<'ready'>>;
  /** Resolves when the process is gone (never rejects). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly latest: WorkerProgress | undefined;
  send(msg: ToWorker): void;
  /** Enqueue in the worker; resolves once every item is durable (or rejected). */
  enqueue(items: readonly EnqueueItem[]): Promise<{ entries: readonly EnqueuedEntry[]; rejected: readonly Msg<'enqueueRejected'>[] }>;
  report(timeoutMs?: number): Promise<Msg<'report'>>;
  /**
   * Wait for the first message matching `pred`. Gives up when the worker
   * says nothing at all for `silenceMs` (a running worker reports progress
   * every `progressMs`): how long the wait may take grows with the work —
   * a 35,000-op enqueue, a restart on a 100,000-op queue — while a hung or
   * blocked worker is still noticed.
   */
  waitFor<T extends FromWorker['t']>(t: T, pred?: (m: Msg<T>) => boolean, silenceMs?: number): Promise<Msg<T>>;
  on<T extends FromWorker['t']>(t: T, fn: (m: Msg<T>) => void): void;
  /** Graceful stop: engine.stop(), store closed, process exits. */
  stop(timeoutMs?: number): Promise<void>;
  /** SIGKILL: no cleanup at all, like a crash or a killed app. */
  kill(): void;
}

const WORKER = join(__dirname, 'engine-worker.ts');

/** Fork an engine worker (TypeScript through ts-node, transpile only). */
export function spawnWorker(config: WorkerConfig): WorkerHandle {
  const child = fork(WORKER, [], {
    // Resolved here, so the worker starts whatever the current directory is.
    execArgv: ['-r', require.resolve('ts-node/register/transpile-only')],
    env: { ...process.env, SYNC_WORKER_CONFIG: JSON.stringify(config), TS_NODE_TRANSPILE_ONLY: 'true' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const spawnedAt = Date.now();
  const listeners = new Map<string, Set<(m: FromWorker) => void>>();
  let latest: WorkerProgress | undefined;
  let fatal: string | undefined;

  const on = <T extends FromWorker['t']>(t: T, fn: (m: Msg<T>) => void): (() => void) => {
    let set = listeners.get(t);
    if (!set) {
      set = new Set();
      listeners.set(t, set);
    }
    const f = fn as (m: FromWorker) => void;
    set.add(f);
    return () => set?.delete(f);
  };

  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });

  child.on('message', (raw) => {
    const m = raw as FromWorker;
    if (m.t === 'progress') latest = m.progress;
    if (m.t === 'report') latest = m.progress;
    if (m.t === 'fatal') fatal = m.error;
    for (const fn of [...(listeners.get(m.t) ?? [])]) fn(m);
  });

  const waitFor = <T extends FromWorker['t']>(t: T, pred?: (m: Msg<T>) => boolean, silenceMs = 30_000): Promise<Msg<T>> =>
    new Promise((resolve, reject) => {
      const heard = () => timer.refresh();
      const timer = setTimeout(() => {
        off();
        child.off('message', heard);
        reject(new Error(`worker ${config.name}: no '${t}' and no message at all for ${silenceMs} ms${fatal ? ` (${fatal})` : ''}`));
      }, silenceMs);
      child.on('message', heard);
      const off = on(t, (m) => {
        if (pred && !pred(m)) return;
        clearTimeout(timer);
        child.off('message', heard);
        off();
        resolve(m);
      });
      void exited.then(({ code, signal }) => {
        clearTimeout(timer);
        child.off('message', heard);
        off();
        reject(new Error(`worker ${config.name} exited (${signal ?? code})${fatal ? `: ${fatal}` : ''} before '${t}'`));
      });
    });

  // Silent until ready: ts-node boot and opening the store.
  const ready = waitFor('ready', undefined, 120_000);
  ready.catch(() => undefined);

  const send = (msg: ToWorker): void => {
    if (child.connected) child.send(msg);
  };

  return {
    name: config.name,
    child,
    spawnedAt,
    ready,
    exited,
    get latest() {
      return latest;
    },
    send,
    on: (t, fn) => {
      on(t, fn);
    },
    waitFor,
    async enqueue(items) {
      const rejected: Msg<'enqueueRejected'>[] = [];
      const off = on('enqueueRejected', (m) => rejected.push(m));
      const done = waitFor('enqueued', undefined, 60_000);
      send({ t: 'enqueue', items });
      try {
        const { entries } = await done;
        return { entries, rejected };
      } finally {
        off();
      }
    },
    async report(timeoutMs = 30_000) {
      const r = waitFor('report', undefined, timeoutMs);
      send({ t: 'report' });
      return r;
    },
    async stop(timeoutMs = 10_000) {
      send({ t: 'stop' });
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      await exited;
      clearTimeout(timer);
    },
    kill() {
      child.kill('SIGKILL');
    },
  };
}
