/**
 * Retrying from the dead-letter queue against the reference backend, which
 * stores every answer per Idempotency-Key and replays it (4xx included):
 * after a definitive refusal the retry goes out under a new key and can
 * succeed once the user fixed the cause; when the server may have applied
 * the op, the retry keeps the key and the server replays — applied once.
 */
import { firstValueFrom, filter } from 'rxjs';
import type { OpResult } from '../../src/engine/sync-engine';
import type { PendingOp } from '../../src/op/pending-op';
import { createOptimisticStore } from '../../src/optimistic/create-optimistic-store';
import type { OpStore } from '../../src/store/op-store';
import { startReferenceBackend, type ReferenceBackend, type Todo } from '../../src/testing';
import { createDemoEngine, openTestStore, type DemoEngine } from '../../demo/engine-setup';
import { tempDir, waitForIdle, waitUntil } from './support/harness';

jest.setTimeout(30_000);

describe('failedOps.retry against a server that replays answers per key', () => {
  let backend: ReferenceBackend;
  let dir: ReturnType<typeof tempDir>;
  let store: OpStore;
  let engine: DemoEngine;
  let results: OpResult[];

  beforeEach(async () => {
    backend = await startReferenceBackend();
    dir = tempDir('dlq');
    store = await openTestStore(`${dir.path}/queue.sqlite`);
    engine = createDemoEngine({
      baseUrl: backend.url,
      store,
      auth: { getToken: async () => backend.issueToken(), refreshToken: async () => backend.issueToken() },
      requestTimeoutMs: 1000,
      backoff: { baseMs: 10, capMs: 50 },
      lock: { heartbeatMs: 200, staleAfterMs: 1000 },
    });
    results = [];
    engine.results$.subscribe((r) => results.push(r));
    engine.start();
  });
  afterEach(async () => {
    await engine.dispose();
    await store.close();
    await backend.close();
    dir.cleanup();
  });

  const settle = (n: number) => waitForIdle(engine, () => results.length, n, 10_000);
  const resultOf = (op: PendingOp) => results.filter((r) => r.opId === op.id).map((r) => [r.outcome, r.reason, r.error?.status]);

  /** A todo that exists on the server, created through the engine. */
  async function existingTodo(id: string): Promise<void> {
    await engine.enqueue({ type: 'todo.create', payload: { id, title: 'first' } });
    await settle(results.length + 1);
    expect(backend.entity('todos', id)?.version).toBe(1);
  }

  test('404 for a missing todo → the user creates it → the retry succeeds under a new key, applied once', async () => {
    const update = await engine.enqueue({ type: 'todo.update', payload: { id: 'p', title: 'renamed' } });
    await settle(1);
    expect(resultOf(update)).toEqual([['failed', 'permanent', 404]]);

    await existingTodo('p'); // the user fixes the cause
    const retried = await engine.failedOps.retry(update.id);
    await settle(3);

    expect(resultOf(retried)).toEqual([['committed', undefined, undefined]]);
    expect(retried.idempotencyKey).not.toBe(update.idempotencyKey);
    expect([retried.id !== update.id, retried.txToken, retried.traceId]).toEqual([true, update.txToken, update.traceId]);
    expect(backend.entity('todos', 'p')).toMatchObject({ title: 'renamed', version: 2 });
    expect(backend.entityLog('todos', 'p').map((e) => [e.action, e.idempotencyKey])).toEqual([
      ['create', expect.any(String)],
      ['update', retried.idempotencyKey],
    ]);
    expect(backend.effects(update.idempotencyKey)).toBe(0);
    expect(await store.counts()).toEqual({ pending: 0, failed: 0 });
  });

  test('the optimistic view: rolled back on the 404, pending again after the retry, committed once', async () => {
    const todos = createOptimisticStore(engine, {
      initial: {} as Readonly<Record<string, Todo>>,
      apply: {
        'todo.create': (s, p: { id: string; title: string }) => ({ ...s, [p.id]: { id: p.id, title: p.title, done: false, version: 0 } }),
        'todo.update': (s, p: { id: string; title: string }) => (s[p.id] ? { ...s, [p.id]: { ...s[p.id]!, title: p.title } } : s),
      },
      commit: {
        'todo.create': (s, _p, data) => ({ ...s, [(data as Todo).id]: data as Todo }),
        'todo.update': (s, _p, data) => ({ ...s, [(data as Todo).id]: data as Todo }),
      },
    });
    const rollbacks: string[] = [];
    todos.rollbacks$.subscribe((r) => rollbacks.push(r.txToken));
    const pendingOpIds: Array<readonly (string | undefined)[]> = [];
    todos.pending$.subscribe((p) => pendingOpIds.push(p.map((e) => e.opId)));
    try {
      const { txToken, persisted } = todos.mutate('todo.update', { id: 'p', title: 'renamed' });
      const update = await persisted;
      await settle(1);
      expect(rollbacks).toEqual([txToken]);

      todos.mutate('todo.create', { id: 'p', title: 'first' });
      await settle(2);
      const retried = await engine.failedOps.retry(update.id);
      // Pending again, under its new id (same txToken).
      await waitUntil(() => pendingOpIds.some((ids) => ids.includes(retried.id)), 5_000, 'the retried op in pending$');

      await settle(3);
      await waitUntil(() => backend.entity('todos', 'p')?.title === 'renamed', 5_000, 'the retried update');
      const confirmed = await firstValueFrom(todos.confirmed$.pipe(filter((s) => s.p?.version === 2)));
      expect(confirmed).toEqual({ p: { id: 'p', title: 'renamed', done: false, version: 2 } });
      expect(await firstValueFrom(todos.state$)).toEqual(confirmed);
      expect(await firstValueFrom(todos.pending$)).toEqual([]);
      expect(rollbacks).toEqual([txToken]);
      expect(backend.entityLog('todos', 'p').map((e) => e.action)).toEqual(['create', 'update']);
    } finally {
      todos.dispose();
    }
  });

  test('transient retries exhausted after the server applied the op: the retry keeps the key and gets the replay, applied once', async () => {
    await existingTodo('t');
    // Applied, answer lost (a network error: no attempt spent), then 500s until the budget (5) is gone.
    backend.faults.script([{ kind: 'commitThenDrop' }, ...Array.from({ length: 5 }, () => ({ kind: 'status' as const, status: 500 as const }))]);
    const update = await engine.enqueue({ type: 'todo.update', payload: { id: 't', title: 'once' } });
    await settle(2);
    expect(resultOf(update)).toEqual([['failed', 'exhausted', 500]]);
    expect(backend.effects(update.idempotencyKey)).toBe(1);

    const replaysBefore = backend.counters().replays;
    const retried = await engine.failedOps.retry(update.id);
    await settle(3);

    expect(resultOf(retried)).toEqual([['committed', undefined, undefined]]);
    expect(retried.idempotencyKey).toBe(update.idempotencyKey);
    expect(backend.counters().replays).toBe(replaysBefore + 1);
    expect(backend.effects(update.idempotencyKey)).toBe(1);
    expect(backend.entity('todos', 't')).toMatchObject({ title: 'once', version: 2 });
    expect(backend.entityLog('todos', 't').map((e) => e.action)).toEqual(['create', 'update']);
  });

  test('a malformed 2xx (applied, unreadable): the retry keeps the key and gets the stored answer, applied once', async () => {
    await existingTodo('m');
    backend.faults.script([{ kind: 'malformed' }]);
    const update = await engine.enqueue({ type: 'todo.update', payload: { id: 'm', title: 'once' } });
    await settle(2);
    expect(resultOf(update)).toEqual([['failed', 'malformedResponse', undefined]]); // a 2xx failing the response codec

    const retried = await engine.failedOps.retry(update.id);
    await settle(3);

    expect(resultOf(retried)).toEqual([['committed', undefined, undefined]]);
    expect(retried.idempotencyKey).toBe(update.idempotencyKey);
    expect(backend.effects(update.idempotencyKey)).toBe(1);
    expect(backend.entity('todos', 'm')).toMatchObject({ title: 'once', version: 2 });
    expect(backend.entityLog('todos', 'm').map((e) => e.action)).toEqual(['create', 'update']);
  });
});
