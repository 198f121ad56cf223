import { Subject, VirtualAction, VirtualTimeScheduler, firstValueFrom, of } from 'rxjs';
import { createSyncEngine, SEED_PAGE, type SyncEngine } from '../../src/create-sync-engine';
import { SYNC_ENGINE_DEFAULTS, type SyncEngineOptions } from '../../src/engine/sync-engine-options';
import { ValidationError } from '../../src/errors/sync-error';
import { defineMemoryDriver } from '../../src/drivers/memory-driver';
import { createOpStore } from '../../src/store/create-op-store';
import type { OpStore } from '../../src/store/op-store';
import { testRoutes } from '../support/engine-harness';
import { makeOps } from '../store/support/ops';
import { nodeAesGcm } from '../../src/node/node-aes-gcm';
import { MAX_TIMER_DELAY_MS } from '../../src/policy/backoff';
import { MIN_REFILL_PER_SECOND } from '../../src/security/rate-limiter';

// One ms more than a timer can wait: setTimeout would fire it at once.
const OVERFLOW_MS = MAX_TIMER_DELAY_MS + 1;

const key = () => globalThis.crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
let n = 0;

describe('createSyncEngine', () => {
  let store: OpStore;
  const base = (): SyncEngineOptions => ({
    baseUrl: 'https://api.example.com',
    routes: testRoutes,
    store,
    auth: { getToken: async () => 't', refreshToken: async () => 't' },
    online$: of(true),
    constraints$: of({}),
  });

  beforeEach(async () => {
    n += 1;
    store = await createOpStore({ name: `create-sync-engine-${n}`, driver: await defineMemoryDriver(), encryptionKey: await key() });
  });
  afterEach(() => store.close());

  test.each<[string, Partial<SyncEngineOptions>]>([
    ['a non-loopback http:// base URL', { baseUrl: 'http://api.example.com' }],
    ['a missing router', { routes: undefined as never }],
    ['a missing store', { store: undefined as never }],
    ['auth without refreshToken', { auth: { getToken: () => 't' } as never }],
    ['a bad backoff', { backoff: { baseMs: -1 } }],
    ['a stale period not above the heartbeat', { lock: { heartbeatMs: 1000, staleAfterMs: 500 } }],
    ['a zero request timeout', { requestTimeoutMs: 0 }],
    ['a zero auth timeout', { authTimeoutMs: 0 }],
    ['an auth timeout beyond 2^31 − 1 ms (timers would fire at once)', { authTimeoutMs: 2 ** 31 }],
    ['a zero response-size cap', { maxResponseBytes: 0 }],
    ['a fractional response-size cap', { maxResponseBytes: 1.5 }],
    ['a zero batch size', { batchSize: 0 }],
    ['a negative idle poll', { idlePollMs: -1 }],
    // Values no timer can honour (above 2^31 − 1 ms they fire at once).
    ['a request timeout above 2^31 − 1 ms', { requestTimeoutMs: OVERFLOW_MS }],
    ['an idle poll above 2^31 − 1 ms', { idlePollMs: OVERFLOW_MS }],
    ['a storage retry above 2^31 − 1 ms', { storageRetryMs: OVERFLOW_MS }],
    ['a zero metrics sample interval', { metricsSampleIntervalMs: 0 }],
    ['a metrics sample interval above 2^31 − 1 ms', { metricsSampleIntervalMs: OVERFLOW_MS }],
    ['a lock heartbeat above 2^31 − 1 ms', { lock: { heartbeatMs: OVERFLOW_MS, staleAfterMs: 2 * OVERFLOW_MS } }],
    ['a lock stale period above 2^31 − 1 ms', { lock: { heartbeatMs: 1000, staleAfterMs: OVERFLOW_MS } }],
    ['a rate-limit refill slower than one token per 2^31 − 1 ms', { rateLimit: { refillPerSecond: MIN_REFILL_PER_SECOND / 2 } }],
    // A multiplier below 1 would shorten waits, a server's Retry-After with them.
    ['a power-saving factor below 1', { powerSavingBackoffFactor: 0.5 }],
    ['an infinite power-saving factor', { powerSavingBackoffFactor: Infinity }],
    ['a power-saving factor that is not a number', { powerSavingBackoffFactor: NaN }],
    ['a wake port without close()', { wake: { post: () => undefined, wake$: of(1) } as never }],
    ['a wake port whose wake$ is not an Observable', { wake: { post: () => undefined, wake$: [], close: () => undefined } as never }],
    ['auth that is not { getToken, refreshToken }', { auth: null as never }],
    // The requestHeaders object is checked once, here, not at the first send.
    ['requestHeaders setting Authorization', { requestHeaders: { Authorization: 'Basic x' } }],
    ['requestHeaders setting idempotency-key (any case)', { requestHeaders: { 'idempotency-key': 'x' } }],
    ['requestHeaders setting Trace-Id', { requestHeaders: { 'Trace-Id': 'x' } }],
    ['requestHeaders setting Content-Type', { requestHeaders: { 'Content-Type': 'text/plain' } }],
    ['requestHeaders with an invalid name', { requestHeaders: { 'X Tenant': 'a' } }],
    ['requestHeaders with a CR LF value', { requestHeaders: { 'X-Tenant': 'a\r\nX-Admin: 1' } }],
    ['requestHeaders with a value that is not a string', { requestHeaders: { 'X-Tenant': 1 } as never }],
    ['an account$ that is not an Observable (a bare account id)', { account$: 'ada' as never }],
    ['concurrency 0', { concurrency: 0 }],
    ['a fractional concurrency', { concurrency: 1.5 }],
    ['a batch path with a host', { batch: { path: '//evil.example/batch' } }],
    ['a batch path with a query', { batch: { path: '/batch?x=1' } }],
    ['a batch of 0 ops', { batch: { path: '/batch', maxOps: 0 } }],
    ['a batch without a byte limit', { batch: { path: '/batch', maxBytes: Infinity } }],
  ])('refuses %s with ValidationError(invalidOptions)', (_name, override) => {
    let err: unknown;
    try {
      createSyncEngine({ ...base(), ...override });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ValidationError);
    expect(err).toMatchObject({ reason: 'invalidOptions' });
  });

  test('accepts the most extreme timings it can honour (every wait bounded below 2^31 − 1 ms)', async () => {
    const engine = createSyncEngine({
      ...base(),
      backoff: { baseMs: MAX_TIMER_DELAY_MS, capMs: MAX_TIMER_DELAY_MS, maxRetryAfterMs: MAX_TIMER_DELAY_MS, jitter: 'proportional', jitterRatio: 1 },
      powerSavingBackoffFactor: Number.MAX_VALUE,
      requestTimeoutMs: MAX_TIMER_DELAY_MS,
      idlePollMs: MAX_TIMER_DELAY_MS,
      storageRetryMs: MAX_TIMER_DELAY_MS,
      metricsSampleIntervalMs: MAX_TIMER_DELAY_MS,
      lock: { heartbeatMs: MAX_TIMER_DELAY_MS - 1, settleMs: 0, staleAfterMs: MAX_TIMER_DELAY_MS },
      rateLimit: { capacity: 1, refillPerSecond: MIN_REFILL_PER_SECOND },
    });
    await engine.dispose();
  });

  test('documents its defaults in one constant', () => {
    expect(SYNC_ENGINE_DEFAULTS).toEqual({
      requestTimeoutMs: 15_000,
      maxResponseBytes: 1_048_576,
      batchSize: 20,
      concurrency: 1,
      batchMaxOps: 100,
      batchMaxBytes: 262_144,
      powerSavingBackoffFactor: 4,
      storageRetryMs: 1_000,
      idlePollMs: 5_000,
      tokenRefreshSkewMs: 30_000,
      authTimeoutMs: 30_000,
    });
    expect(Object.isFrozen(SYNC_ENGINE_DEFAULTS)).toBe(true);
  });

  test('enqueue validates before persisting and resolves with the stored op', async () => {
    const engine = createSyncEngine(base());
    try {
      await expect(engine.enqueue({ type: 'todo.fly', payload: {} })).rejects.toMatchObject({ reason: 'unknownType' });
      await expect(engine.enqueue({ type: 'todo.create', payload: { id: 1 } })).rejects.toMatchObject({ reason: 'invalidPayload' });
      const hostile = JSON.parse('{"id":"1","title":"x","__proto__":{"admin":true}}') as unknown;
      await expect(engine.enqueue({ type: 'todo.create', payload: hostile })).rejects.toBeInstanceOf(ValidationError);
      const cyclic: Record<string, unknown> = { id: '1', title: 'x' };
      cyclic.self = cyclic;
      await expect(engine.enqueue({ type: 'todo.create', payload: cyclic })).rejects.toMatchObject({ reason: 'notSerializable' });
      expect(await store.counts()).toEqual({ pending: 0, failed: 0 });

      const op = await engine.enqueue({ type: 'todo.create', payload: { id: '1', title: 'x' }, txToken: 'tx-1' });
      expect(op).toMatchObject({ type: 'todo.create', txToken: 'tx-1', attempts: 0, nextAttemptAt: null, schemaVersion: 1 });
      expect(await store.peek(10)).toEqual([op]);
      const generated = await engine.enqueue({ type: 'todo.create', payload: { id: '2', title: 'y' } });
      expect(generated.txToken).toMatch(/^[0-9a-f-]{36}$/);
      expect(generated.idempotencyKey).not.toBe(op.idempotencyKey);
      const status = await firstValueFrom(engine.status$);
      expect(status).toMatchObject({ pending: 2, processing: false, blockedBy: ['stopped', 'lockNotHeld'] });
      const listed: string[] = [];
      await new Promise<void>((resolve) => engine.pendingOps(1).subscribe({ next: (o) => listed.push(o.id), complete: resolve }));
      expect(listed).toEqual([op.id, generated.id]);
    } finally {
      await engine.dispose();
    }
  });

  // A hostile or buggy payload object: small to the first read, something
  // else to every later one (the codec, JSON.stringify, the store).
  const big = () => 'x'.repeat(5_000_000);
  test.each<[string, () => unknown]>([
    [
      'a getter: small first, 5 MB later',
      () => {
        let reads = 0;
        return { id: '1', get title() { return ++reads === 1 ? 'small' : big(); } };
      },
    ],
    [
      'a getter that throws after the first read',
      () => {
        let reads = 0;
        return {
          id: '1',
          get title() {
            if (++reads > 1) throw new Error('second read');
            return 'small';
          },
        };
      },
    ],
    [
      'a toJSON that appears after the check',
      () => {
        let reads = 0;
        return Object.defineProperty({ id: '1', title: 'small' }, 'toJSON', {
          enumerable: false,
          get: () => (++reads === 1 ? undefined : () => ({ id: '1', title: big() })),
        });
      },
    ],
  ])('enqueue stores exactly the payload it checked: %s', async (_name, hostile) => {
    const engine = createSyncEngine(base());
    try {
      const op = await engine.enqueue({ type: 'todo.create', payload: hostile() });
      expect(op.payload).toEqual({ id: '1', title: 'small' });
      const stored = await store.peek(10);
      expect(stored.map((o) => o.payload)).toEqual([{ id: '1', title: 'small' }]);
    } finally {
      await engine.dispose();
    }
  });

  test('a wake port gets one post per append and is closed by dispose()', async () => {
    const calls: string[] = [];
    const wake = { post: () => calls.push('post'), wake$: new Subject<void>(), close: () => calls.push('close') };
    const engine = createSyncEngine({ ...base(), wake });
    await engine.enqueue({ type: 'todo.create', payload: { id: '1', title: 'x' } });
    await engine.enqueue({ type: 'todo.create', payload: { id: '2', title: 'y' } });
    expect(calls).toEqual(['post', 'post']);
    await engine.dispose();
    expect(calls).toEqual(['post', 'post', 'close']);
  });

  test('seeds the age metrics from the queue a page per task, never reading the whole queue in one go', async () => {
    const NOW = 1_800_000_000_000;
    await store.close();
    // node:crypto AES-GCM: synchronous, so every read settles in microtasks.
    store = await createOpStore({ name: `create-sync-engine-seed-${n}`, driver: await defineMemoryDriver(), encryptionKey: await key(), aesGcm: nodeAesGcm });
    const ops = makeOps(350);
    for (const op of ops) await store.append(op);
    const peeks: number[] = [];
    const peek = store.peek.bind(store);
    jest.spyOn(store, 'peek').mockImplementation((n, afterId) => {
      peeks.push(n);
      return peek(n, afterId);
    });
    // Only zero-delay actions run on flush (maxFrames 0): the metrics tick never does.
    const scheduler = new VirtualTimeScheduler(VirtualAction, 0);
    const settle = async () => {
      for (let i = 0; i < 200; i++) await Promise.resolve();
    };
    const engine = createSyncEngine({ ...base(), scheduler, now: () => NOW });
    try {
      await settle();
      // One page read; the next waits for a later task.
      expect(peeks).toEqual([SEED_PAGE]);
      for (let task = 0; task < 2 * Math.ceil(350 / SEED_PAGE); task++) {
        scheduler.flush();
        await settle();
      }
      // 350 ops, SEED_PAGE a page: the pages, then the read that finds the end.
      expect(peeks).toEqual(Array(Math.floor(350 / SEED_PAGE) + 1).fill(SEED_PAGE));
      const oldest = NOW - (ops[0]?.createdAt ?? 0);
      const snapshot = await firstValueFrom(engine.metrics$);
      expect(snapshot['sync.pending_ops.age_p99']).toBeGreaterThanOrEqual(oldest - 350);
      expect(snapshot['sync.pending_ops.age_p50']).toBeGreaterThan(0);
    } finally {
      await engine.dispose();
    }
  });

  test('auth is optional: an engine without it is created (and enqueues) without calling anything for a token', async () => {
    const { auth: _auth, ...rest } = base();
    const engine = createSyncEngine(rest);
    try {
      await engine.enqueue({ type: 'todo.create', payload: { id: '1', title: 'x' } });
      expect(await store.counts()).toEqual({ pending: 1, failed: 0 });
    } finally {
      await engine.dispose();
    }
  });

  test('accepts requestHeaders as an object or a function', async () => {
    for (const requestHeaders of [{ 'X-App-Version': '2.1.0' }, () => ({ 'X-App-Version': '2.1.0' })]) {
      await createSyncEngine({ ...base(), requestHeaders }).dispose();
    }
  });

  test('await using: the engine is disposed at the end of the scope; the store (the app’s) stays open', async () => {
    let engine: SyncEngine | undefined;
    let disposed = 0;
    {
      await using scoped = createSyncEngine(base());
      engine = scoped;
      const dispose = scoped.dispose.bind(scoped);
      jest.spyOn(scoped, 'dispose').mockImplementation(() => {
        disposed += 1;
        return dispose();
      });
      await scoped.enqueue({ type: 'todo.create', payload: { id: '1', title: 'x' } });
      expect(disposed).toBe(0);
    }
    expect(disposed).toBe(1);
    // Disposed: enqueue is refused …
    await expect(engine.enqueue({ type: 'todo.create', payload: { id: '2', title: 'y' } })).rejects.toMatchObject({ reason: 'invalidOptions' });
    // … and the store still works: the app closes it (afterEach).
    expect(await store.counts()).toEqual({ pending: 1, failed: 0 });
  });

  test('stop() before start() resolves and releases nothing', async () => {
    const engine = createSyncEngine(base());
    const events: string[] = [];
    engine.events$.subscribe((e) => events.push(e.type));
    await engine.stop();
    expect(events).not.toContain('lockReleased');
    await engine.dispose();
  });
});
