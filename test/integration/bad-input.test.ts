/**
 * Bad input at the edge, against a real engine and the reference backend:
 * each case ends in a clear typed outcome and nothing is lost — the queue
 * keeps going and the next good op still commits.
 */
import { firstValueFrom, take, toArray } from 'rxjs';
import type { OpResult } from '../../src/engine/sync-engine';
import { ValidationError } from '../../src/errors/sync-error';
import { startReferenceBackend, type ReferenceBackend } from '../../src/testing';
import { createDemoEngine, openTestStore, type DemoEngine } from '../../demo/engine-setup';
import type { OpStore } from '../../src/store/op-store';
import { tempDir, waitForIdle } from './support/harness';

jest.setTimeout(30_000);

describe('bad input at the edge', () => {
  let backend: ReferenceBackend;
  let dir: ReturnType<typeof tempDir>;
  let store: OpStore;
  let engine: DemoEngine;
  let results: OpResult[];

  beforeEach(async () => {
    backend = await startReferenceBackend();
    dir = tempDir('bad');
    store = await openTestStore(`${dir.path}/queue.sqlite`);
    engine = createDemoEngine({
      baseUrl: backend.url,
      store,
      auth: { getToken: async () => backend.issueToken(), refreshToken: async () => backend.issueToken() },
      requestTimeoutMs: 1000,
      backoff: { baseMs: 10, capMs: 100 },
      lock: { heartbeatMs: 200, staleAfterMs: 1000 },
    });
    results = [];
    engine.results$.subscribe((r) => results.push(r));
  });
  afterEach(async () => {
    await engine.dispose();
    await store.close();
    await backend.close();
    dir.cleanup();
  });

  const settle = (n: number) => waitForIdle(engine, () => results.length, n, 10_000);

  test('an op type with no route is refused at enqueue, typed, and nothing is stored or sent', async () => {
    const err = await engine.enqueue({ type: 'todo.teleport', payload: { id: 'x' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err).toMatchObject({ kind: 'validation', reason: 'unknownType' });
    expect(await store.counts()).toEqual({ pending: 0, failed: 0 });
    expect(backend.counters().requests).toBe(0);
  });

  test('a payload failing its codec is refused at enqueue with the failing path, not the value', async () => {
    const err = await engine.enqueue({ type: 'todo.create', payload: { id: 'x', title: 42 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err).toMatchObject({ reason: 'invalidPayload' });
    expect((err as ValidationError).detail ?? '').toContain('title');
    expect((err as Error).message).not.toContain('42');
    expect(await store.counts()).toEqual({ pending: 0, failed: 0 });
  });

  test('a 10 MB payload is refused at enqueue by the payload limits, typed, nothing stored or sent', async () => {
    const big = { id: 'big', title: 'x'.repeat(10 * 1024 * 1024) };
    const err = await engine.enqueue({ type: 'todo.create', payload: big }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err).toMatchObject({ reason: 'invalidPayload' });
    expect((err as Error).message).not.toContain('xxxx');
    expect(await store.counts()).toEqual({ pending: 0, failed: 0 });
    expect(backend.counters().requests).toBe(0);
  });

  test('a 10 MB payload the client lets through meets the server\'s 413: parked as permanent, queue keeps going', async () => {
    const roomy = createDemoEngine({
      baseUrl: backend.url,
      store,
      auth: { getToken: async () => backend.issueToken(), refreshToken: async () => backend.issueToken() },
      requestTimeoutMs: 10_000,
      backoff: { baseMs: 10, capMs: 100 },
      lock: { heartbeatMs: 200, staleAfterMs: 1000 },
      extra: { payloadLimits: { maxBytes: 20 * 1024 * 1024, maxStringLength: 20 * 1024 * 1024 } },
    });
    const got: OpResult[] = [];
    const sub = roomy.results$.subscribe((r) => got.push(r));
    try {
      const big = await roomy.enqueue({ type: 'todo.create', payload: { id: 'big', title: 'x'.repeat(10 * 1024 * 1024) } });
      const good = await roomy.enqueue({ type: 'todo.create', payload: { id: 'after', title: 'ok' } });
      roomy.start();
      await waitForIdle(roomy, () => got.length, 2, 20_000);
      expect(got.map((r) => [r.opId, r.outcome, r.reason, r.error?.status])).toEqual([
        [big.id, 'failed', 'permanent', 413],
        [good.id, 'committed', undefined, undefined],
      ]);
      expect((await roomy.failedOps.list()).map((r) => r.op?.id)).toEqual([big.id]);
      expect(backend.effects(big.idempotencyKey)).toBe(0);
      expect(backend.effects(good.idempotencyKey)).toBe(1);
    } finally {
      sub.unsubscribe();
      await roomy.dispose();
    }
  });

  test('a non-JSON 200 and a 200 failing the response codec: failed as malformedResponse, applied once, queue keeps going', async () => {
    backend.faults.script([{ kind: 'nonJson' }, { kind: 'malformed' }]);
    const a = await engine.enqueue({ type: 'todo.create', payload: { id: 'a', title: 'A' } });
    const b = await engine.enqueue({ type: 'todo.create', payload: { id: 'b', title: 'B' } });
    const c = await engine.enqueue({ type: 'todo.create', payload: { id: 'c', title: 'C' } });
    const first3 = firstValueFrom(engine.results$.pipe(take(3), toArray()));
    engine.start();
    const out = await first3;
    expect(out.map((r) => [r.opId, r.outcome, r.reason, r.error?.kind])).toEqual([
      [a.id, 'failed', 'malformedResponse', 'malformedResponse'],
      [b.id, 'failed', 'malformedResponse', 'malformedResponse'],
      [c.id, 'committed', undefined, undefined],
    ]);
    expect(out[0]?.message).toBeTruthy();
    const parked = await engine.failedOps.list();
    expect(parked.map((r) => [r.op?.id, r.reason])).toEqual([
      [a.id, 'malformedResponse'],
      [b.id, 'malformedResponse'],
    ]);
    // The server did apply them (that is why resending is not the answer).
    expect([a, b, c].map((op) => backend.effects(op.idempotencyKey))).toEqual([1, 1, 1]);
    expect(await store.counts()).toEqual({ pending: 0, failed: 2 });
  });

  test('a server-side 400 parks the op as permanent with a user-facing message; later ops still commit', async () => {
    const bad = await engine.enqueue({ type: 'todo.create', payload: { id: 'bad', title: 'x'.repeat(201) } });
    const good = await engine.enqueue({ type: 'todo.create', payload: { id: 'good', title: 'fine' } });
    engine.start();
    await settle(2);
    expect(results.map((r) => [r.opId, r.outcome])).toEqual([
      [bad.id, 'failed'],
      [good.id, 'committed'],
    ]);
    expect(results[0]).toMatchObject({ reason: 'permanent', error: { kind: 'permanent', status: 400 } });
    expect(JSON.stringify(results[0])).not.toContain('xxxxxxxx');
    expect(backend.effects(good.idempotencyKey)).toBe(1);
  });
});
