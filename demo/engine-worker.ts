/**
 * An engine in its own process, driven over IPC by the demo and by the
 * integration tests (so they can SIGKILL it mid-flight and start another
 * against the same store). Config comes as JSON in `SYNC_WORKER_CONFIG`.
 * Run with `node -r ts-node/register/transpile-only demo/engine-worker.ts`.
 */
import { BehaviorSubject, lastValueFrom, toArray } from 'rxjs';
import type { EngineStatus } from '../src/engine/sync-engine';
import { openDemoEngine } from './engine-setup';
import type { FromWorker, ToWorker, WorkerConfig, WorkerProgress, EnqueuedEntry, FailedEntry } from './protocol';

const send = (m: FromWorker): void => {
  if (process.connected) process.send?.(m);
};

async function main(): Promise<void> {
  const config = JSON.parse(process.env.SYNC_WORKER_CONFIG ?? '{}') as WorkerConfig;
  const online$ = new BehaviorSubject<boolean>(config.online);

  let token: string | undefined;
  let tokenRefreshes = 0;
  const fetchToken = async (): Promise<string> => {
    const res = await fetch(`${config.baseUrl}/auth/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ refreshCredential: config.refreshCredential }),
      signal: AbortSignal.timeout(config.requestTimeoutMs),
    });
    if (!res.ok) throw new Error(`token refresh failed with ${res.status}`);
    const body = (await res.json()) as { data: { token: string } };
    token = body.data.token;
    return token;
  };
  const refreshToken = async (): Promise<string> => {
    tokenRefreshes += 1;
    return fetchToken();
  };
  const getToken = async (): Promise<string> => token ?? fetchToken();

  const baseFetch: typeof fetch = (input, init) => fetch(input, init);
  const tracedFetch: typeof fetch = async (input, init) => {
    const start = Date.now();
    try {
      const res = await fetch(input, init);
      // The exchange ends when the body is read; clone so the engine can read it too.
      await res.clone().arrayBuffer().catch(() => undefined);
      send({ t: 'request', start, end: Date.now(), ok: true });
      return res;
    } catch (err) {
      send({ t: 'request', start, end: Date.now(), ok: false });
      throw err;
    }
  };

  const { engine, close } = await openDemoEngine({
    config,
    online$,
    auth: { getToken, refreshToken },
    fetch: config.traceRequests ? tracedFetch : baseFetch,
  });

  let status: EngineStatus | undefined;
  const counts = { committed: 0, conflicts: 0, attempts: 0, failedAttempts: 0, retryAfterWaits: 0 };
  engine.status$.subscribe((s) => {
    status = s;
  });
  engine.events$.subscribe((e) => {
    switch (e.type) {
      case 'attemptStarted':
        counts.attempts += 1;
        break;
      case 'attemptFailed':
        counts.failedAttempts += 1;
        break;
      case 'backoff':
        if (e.retryAfter) counts.retryAfterWaits += 1;
        break;
      case 'completed':
        counts.committed += 1;
        send({ t: 'committed', at: e.at, idempotencyKey: e.op.idempotencyKey, fromLedger: e.fromLedger });
        break;
      case 'conflict':
        counts.conflicts += 1;
        break;
      case 'lockAcquired':
        send({ t: 'lockAcquired', at: e.at, takeover: e.takeover, fencingToken: e.fencingToken });
        break;
      case 'lockLost':
        send({ t: 'lockLost', at: e.at });
        break;
      default:
        break;
    }
  });

  const progress = (): WorkerProgress => ({
    at: Date.now(),
    pending: status?.pending ?? 0,
    failed: status?.failed ?? 0,
    ...counts,
    tokenRefreshes,
    lockHeld: status?.lockHeld ?? false,
    processing: status?.processing ?? false,
    authRequired: status?.authRequired ?? false,
    blockedBy: status?.blockedBy ?? [],
    inFlight: status?.inFlight !== undefined,
  });
  const timer = setInterval(() => send({ t: 'progress', progress: progress() }), config.progressMs);

  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    clearInterval(timer);
    await engine.dispose();
    await close();
    send({ t: 'stopped' });
    process.disconnect?.();
    process.exit(0);
  };

  // Messages are handled one at a time, in order: an enqueue batch finishes
  // (every op durable) before the next message is looked at.
  let chain = Promise.resolve();
  process.on('message', (raw: unknown) => {
    const msg = raw as ToWorker;
    chain = chain.then(async () => {
      switch (msg.t) {
        case 'enqueue': {
          const entries: EnqueuedEntry[] = [];
          for (const item of msg.items) {
            try {
              const op = await engine.enqueue({ type: item.type, payload: item.payload });
              entries.push({ ref: item.ref, opId: op.id, idempotencyKey: op.idempotencyKey, createdAt: op.createdAt });
            } catch (err) {
              const e = err as { name?: string; code?: string };
              send({ t: 'enqueueRejected', ref: item.ref, error: e.name ?? 'Error', code: e.code ?? null });
            }
          }
          send({ t: 'enqueued', entries });
          break;
        }
        case 'start':
          engine.start();
          break;
        case 'online':
          online$.next(msg.online);
          break;
        case 'report': {
          const pending = await lastValueFrom(engine.pendingOps(500).pipe(toArray()));
          const failed: FailedEntry[] = (await engine.failedOps.list()).map((r) => ({
            idempotencyKey: r.op?.idempotencyKey ?? null,
            reason: r.reason,
            kind: r.error?.kind ?? null,
            status: r.error?.status ?? null,
            code: r.error?.code ?? null,
          }));
          send({ t: 'report', pendingKeys: pending.map((p) => p.idempotencyKey), failed, progress: progress() });
          break;
        }
        case 'stop':
          await stop();
          break;
      }
    });
  });
  process.on('disconnect', () => {
    void stop();
  });

  send({ t: 'ready', pid: process.pid, at: Date.now() });
  if (config.autoStart) engine.start();
}

main().catch((err: unknown) => {
  send({ t: 'fatal', error: err instanceof Error ? `${err.name}: ${err.message}` : 'unknown error' });
  process.exit(70);
});
