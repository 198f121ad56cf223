/**
 * The real-time wake against the reference backend: after an outage the
 * server announces `ready` on `GET /events`, and a queue waiting on a 60 s
 * backoff is sent at once (Server-Sent Events over plain HTTP on loopback;
 * Node 20 has no EventSource, so a fetch-based one is injected).
 */
import { firstValueFrom, filter } from 'rxjs';
import type { EngineEvent, OpResult } from '../../src/engine/sync-engine';
import type { OpStore } from '../../src/store/op-store';
import { startReferenceBackend, type ReferenceBackend } from '../../src/testing';
import { eventSourceWake, type EventSourceConstructor } from '../../src/wake/event-source-wake';
import { createDemoEngine, openTestStore, type DemoEngine } from '../../demo/engine-setup';
import { tempDir } from './support/harness';
import { FetchEventSource } from './support/fetch-event-source';

// Generous: the op must commit long before its 60 s backoff would end, so a
// wake that did not work makes this test time out instead of passing.
jest.setTimeout(20_000);

describe('eventSourceWake against the reference backend', () => {
  let backend: ReferenceBackend;
  let dir: ReturnType<typeof tempDir>;
  let store: OpStore;
  let engine: DemoEngine;

  beforeEach(async () => {
    backend = await startReferenceBackend();
    dir = tempDir('wake');
    store = await openTestStore(`${dir.path}/queue.sqlite`);
  });
  afterEach(async () => {
    await engine?.dispose();
    await store.close();
    await backend.close();
    dir.cleanup();
  });

  test('a queue waiting on a 60 s backoff after an outage is sent once the server announces it is back', async () => {
    backend.faults.down(true);
    engine = createDemoEngine({
      baseUrl: backend.url,
      store,
      auth: { getToken: async () => backend.issueToken(), refreshToken: async () => backend.issueToken() },
      requestTimeoutMs: 2_000,
      // Every wait 60 s (no jitter spread), whatever the attempt.
      backoff: { baseMs: 60_000, capMs: 60_000 },
      lock: { heartbeatMs: 200, staleAfterMs: 1_000 },
      extra: {
        backoff: { baseMs: 60_000, capMs: 60_000, jitter: 'multiplicative', jitterRatio: 0 },
        serverWake: eventSourceWake(`${backend.url}/events`, { EventSource: FetchEventSource as unknown as EventSourceConstructor }),
      },
    });
    const events: EngineEvent[] = [];
    engine.events$.subscribe((e) => events.push(e));
    const committed = firstValueFrom(engine.results$.pipe(filter((r: OpResult) => r.outcome === 'committed')));
    const backoff = firstValueFrom(engine.events$.pipe(filter((e) => e.type === 'backoff')));
    // Settled by dispose() if the test fails early: not an unhandled rejection.
    committed.catch(() => undefined);
    backoff.catch(() => undefined);
    engine.start();
    const op = await engine.enqueue({ type: 'todo.create', payload: { id: 'w1', title: 'sent after the outage' } });

    const wait = (await backoff) as Extract<EngineEvent, { type: 'backoff' }>;
    expect(wait).toMatchObject({ delayMs: 60_000, retryAfter: false, op: { id: op.id } });
    const status = await firstValueFrom(engine.status$.pipe(filter((s) => s.nextAttemptAt !== undefined)));
    expect(status.nextAttemptAt).toBe(wait.op.nextAttemptAt);

    backend.faults.down(false); // the server is back: `ready` on /events
    const result = await committed;
    expect(result).toMatchObject({ opId: op.id, outcome: 'committed' });
    expect(backend.effects(op.idempotencyKey)).toBe(1);
    // Sent again before the stored wait would have ended (no wall-clock bound: the event order says it).
    const sends = events.filter((e): e is Extract<EngineEvent, { type: 'attemptStarted' }> => e.type === 'attemptStarted');
    expect(sends).toHaveLength(2);
    expect(sends[1]!.at).toBeLessThan(status.nextAttemptAt!);
  });
});
