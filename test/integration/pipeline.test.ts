/**
 * The pipeline with real timers, the real encrypted store on the SQLite
 * driver and a tiny scripted HTTP server on 127.0.0.1 (cross-fetch, the
 * default transport). Every wait is bounded.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BehaviorSubject, firstValueFrom, filter, timeout } from 'rxjs';
import { createSqliteOpStore } from '../../src/node';
import { createSyncEngine } from '../../src/create-sync-engine';
import type { SyncEngine } from '../../src/create-sync-engine';
import type { EngineEvent, EngineStatus, OpResult } from '../../src/engine/sync-engine';
import type { OpStore } from '../../src/store/op-store';
import type { PendingOp } from '../../src/op/pending-op';
import { testRoutes } from '../support/engine-harness';

jest.setTimeout(20_000);

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly at: number;
  aborted: boolean;
}

type Answer = { status: number; body?: unknown; headers?: Record<string, string>; delayMs?: number };

/** A scripted JSON server: answers from `script` in order, then 200 `{ data: { ok: true } }`. */
async function startServer() {
  const seen: Seen[] = [];
  const script: Answer[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      const rec: Seen = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, at: Date.now(), aborted: false };
      seen.push(rec);
      const answer = script.shift() ?? { status: 200, body: { data: { ok: true } } };
      res.on('close', () => {
        if (!res.writableFinished) rec.aborted = true;
      });
      const send = () => {
        if (res.destroyed) return;
        res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
        res.end(answer.body === undefined ? '' : JSON.stringify(answer.body));
      };
      if (answer.delayMs) {
        const t = setTimeout(() => {
          timers.delete(t);
          send();
        }, answer.delayMs);
        timers.add(t);
      } else send();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    script,
    close: () =>
      new Promise<void>((r) => {
        for (const t of timers) clearTimeout(t);
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

describe('pipeline integration (real timers, SQLite store, node:http on 127.0.0.1)', () => {
  let dir: string;
  let server: Awaited<ReturnType<typeof startServer>>;
  let store: OpStore;
  let engine: SyncEngine;
  let results: OpResult[];
  let events: EngineEvent[];
  let tokens: { current: string; refreshes: number };
  const online$ = new BehaviorSubject(true);

  const open = async (overrides: Partial<Parameters<typeof createSyncEngine>[0]> = {}) => {
    store = await createSqliteOpStore(join(dir, 'queue.sqlite'), { synchronous: 'NORMAL' });
    engine = createSyncEngine({
      baseUrl: server.url,
      routes: testRoutes,
      store,
      auth: {
        getToken: async () => tokens.current,
        refreshToken: async () => {
          tokens.refreshes += 1;
          tokens.current = `token-${tokens.refreshes + 1}`;
          return tokens.current;
        },
      },
      online$,
      requestTimeoutMs: 2000,
      backoff: { baseMs: 50, capMs: 400 },
      lock: { heartbeatMs: 200, staleAfterMs: 800, settleMs: 20 },
      ...overrides,
    });
    results = [];
    events = [];
    engine.results$.subscribe((r) => results.push(r));
    engine.events$.subscribe((e) => events.push(e));
  };
  const close = async () => {
    await engine.dispose();
    await store.close();
  };
  const idle = (n: number, ms = 8000): Promise<EngineStatus> =>
    firstValueFrom(
      engine.status$.pipe(
        filter((s) => results.length >= n && s.pending === 0 && s.inFlight === undefined),
        timeout(ms),
      ),
    );

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sync-engine-pipeline-'));
    server = await startServer();
    tokens = { current: 'token-1', refreshes: 0 };
    online$.next(true);
    await open();
  });

  afterEach(async () => {
    await close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('commits ops in FIFO order with the auth, idempotency and trace headers; the ledger has every key', async () => {
    const ops: PendingOp[] = [];
    for (const id of ['1', '2', '3']) ops.push(await engine.enqueue({ type: 'todo.create', payload: { id, title: `t${id}` } }));
    engine.start();
    await idle(3);
    expect(server.seen.map((s) => JSON.parse(s.body).id)).toEqual(['1', '2', '3']);
    server.seen.forEach((s, i) => {
      expect(s.method).toBe('POST');
      expect(s.url).toBe('/todos');
      expect(s.headers.authorization).toBe('Bearer token-1');
      expect(s.headers['idempotency-key']).toBe(ops[i]!.idempotencyKey);
      expect(s.headers['trace-id']).toBe(ops[i]!.traceId);
      expect(s.headers['content-type']).toBe('application/json');
    });
    expect(results.map((r) => r.outcome)).toEqual(['committed', 'committed', 'committed']);
    for (const op of ops) expect(await store.isCompleted(op.idempotencyKey)).toBe(true);
    expect(await store.counts()).toEqual({ pending: 0, failed: 0 });
    expect(events.find((e) => e.type === 'lockAcquired')).toMatchObject({ takeover: false });
    const metrics = await firstValueFrom(engine.metrics$);
    expect(metrics).toMatchObject({ 'sync.processed.success': 3, 'sync.processed.failed': 0, 'sync.pending_ops.count': 0 });
  });

  test('503 with Retry-After: 1 waits a second, 401 refreshes the token, 400 parks the op', async () => {
    server.script.push(
      { status: 503, headers: { 'retry-after': '1' }, body: { error: { code: 'busy', message: 'x' } } },
      { status: 401, body: { error: { code: 'token_expired', message: 'x' } } },
      { status: 200, body: { data: {} } },
      { status: 400, body: { error: { code: 'bad', message: 'x' } } },
    );
    await engine.enqueue({ type: 'todo.create', payload: { id: 'a', title: 'x' } });
    await engine.enqueue({ type: 'todo.create', payload: { id: 'b', title: 'x' } });
    engine.start();
    await idle(2);
    expect(server.seen).toHaveLength(4);
    expect(server.seen[1]!.at - server.seen[0]!.at).toBeGreaterThanOrEqual(950);
    expect(server.seen[2]!.headers.authorization).toBe('Bearer token-2');
    expect(results.map((r) => [r.outcome, r.reason])).toEqual([
      ['committed', undefined],
      ['failed', 'permanent'],
    ]);
    expect(await store.counts()).toEqual({ pending: 0, failed: 1 });
    expect(events.filter((e) => e.type === 'backoff')).toMatchObject([{ retryAfter: true, delayMs: 1000 }]);
  });

  test('going offline aborts the request on the wire; back online it is resent with the same key, no attempt consumed', async () => {
    server.script.push({ status: 200, body: { data: {} }, delayMs: 3000 });
    const op = await engine.enqueue({ type: 'todo.create', payload: { id: 'a', title: 'x' } });
    engine.start();
    await firstValueFrom(engine.status$.pipe(filter((s) => s.inFlight !== undefined), timeout(3000)));
    await new Promise((r) => setTimeout(r, 100));
    online$.next(false);
    await new Promise((r) => setTimeout(r, 200));
    expect(server.seen[0]!.aborted).toBe(true);
    const [stored] = await store.peek(1);
    expect(stored!.attempts).toBe(0);
    online$.next(true);
    await idle(1);
    expect(server.seen).toHaveLength(2);
    expect(server.seen[1]!.headers['idempotency-key']).toBe(op.idempotencyKey);
  });

  test('a request that outlives requestTimeoutMs is aborted and retried', async () => {
    await close();
    await open({ requestTimeoutMs: 300 });
    server.script.push({ status: 200, body: { data: {} }, delayMs: 5000 });
    await engine.enqueue({ type: 'todo.create', payload: { id: 'a', title: 'x' } });
    engine.start();
    await idle(1);
    expect(server.seen).toHaveLength(2);
    expect(events.find((e) => e.type === 'attemptFailed')).toMatchObject({ error: { kind: 'timeout' } });
    await new Promise((r) => setTimeout(r, 50));
    expect(server.seen[0]!.aborted).toBe(true);
  });

  test('ops enqueued before a restart are sent by the next engine on the same database', async () => {
    await engine.enqueue({ type: 'todo.create', payload: { id: 'a', title: 'x' } });
    await engine.enqueue({ type: 'todo.update', payload: { id: 'a', title: 'y' } });
    server.script.push({ status: 200, body: { data: {} } }, { status: 200, body: { data: { id: 'a' } } });
    await close();
    await open();
    engine.start();
    await idle(2);
    expect(server.seen.map((s) => `${s.method} ${s.url}`)).toEqual(['POST /todos', 'PATCH /todos/a']);
    expect(results.map((r) => [r.type, r.outcome, r.data])).toEqual([
      ['todo.create', 'committed', {}],
      ['todo.update', 'committed', { id: 'a' }],
    ]);
  });

  test('without auth: requests carry no Authorization header and commit', async () => {
    await close();
    await open({ auth: undefined });
    await engine.enqueue({ type: 'todo.create', payload: { id: 'a', title: 'x' } });
    await engine.enqueue({ type: 'todo.create', payload: { id: 'b', title: 'y' } });
    engine.start();
    await idle(2);
    expect(server.seen).toHaveLength(2);
    for (const s of server.seen) {
      expect(s.headers.authorization).toBeUndefined();
      expect(s.headers['idempotency-key']).toMatch(/^[0-9a-f-]{36}$/);
    }
    expect(results.map((r) => r.outcome)).toEqual(['committed', 'committed']);
  });

  test('without auth, a 401: authRequired with the reason no_credentials, the op kept pending', async () => {
    await close();
    await open({ auth: undefined });
    server.script.push({ status: 401, headers: { 'www-authenticate': 'Bearer' }, body: { error: { code: 'token_missing', message: 'x' } } });
    await engine.enqueue({ type: 'todo.create', payload: { id: 'a', title: 'x' } });
    engine.start();
    const status = await firstValueFrom(engine.status$.pipe(filter((s) => s.authRequired), timeout(8000)));
    expect(status).toMatchObject({ pending: 1, blockedBy: ['authRequired'], lastError: { kind: 'auth', status: 401, code: 'no_credentials' } });
    expect(server.seen).toHaveLength(1);
    expect(server.seen[0]!.headers.authorization).toBeUndefined();
    expect(results).toEqual([]);
    const [kept] = await store.peek(1);
    expect(kept!.attempts).toBe(0);
  });

  test('requestHeaders, as an object or a function, reach the wire; the engine headers cannot be replaced', async () => {
    for (const requestHeaders of [
      { 'X-App-Version': '2.1.0' },
      (op: PendingOp) => ({ 'X-App-Version': '2.1.0', 'x-op-type': op.type, authorization: 'Bearer forged', 'IDEMPOTENCY-KEY': 'forged' }),
    ]) {
      await close();
      server.seen.length = 0;
      await open({ requestHeaders });
      const op = await engine.enqueue({ type: 'todo.create', payload: { id: 'a', title: 'x' } });
      engine.start();
      await idle(1);
      const [sent] = server.seen;
      expect(sent!.headers['x-app-version']).toBe('2.1.0');
      expect(sent!.headers.authorization).toBe('Bearer token-1');
      expect(sent!.headers['idempotency-key']).toBe(op.idempotencyKey);
      expect(sent!.headers['x-op-type']).toBe(typeof requestHeaders === 'function' ? 'todo.create' : undefined);
    }
  });
});
