import { BehaviorSubject, VirtualTimeScheduler } from 'rxjs';
import { owedNow } from '../../src/engine/when-idle';
import { TimeoutError, ValidationError } from '../../src/errors/sync-error';
import { EngineHarness } from '../support/engine-harness';
import { MemoryStoreData } from '../support/memory-store-port';
import { legacyAndAccountAOps } from '../support/op-fixture';
import { fail, hang, ok } from '../support/scripted-transport';
import { runUntil } from '../support/virtual-time';

// Virtual time with Promises (`runUntil`): the storage lock is acquired at
// t=50, every scripted answer takes 10 ms.

/** Track a promise: when it settled (virtual time), how, and what the engine had emitted by then. */
function track(h: EngineHarness, p: Promise<void>) {
  const t: { at?: number; error?: unknown; resultsThen?: string[] } = {};
  p.then(
    () => {
      t.at = h.scheduler.now();
      t.resultsThen = h.results.map((r) => `${r.txToken}:${r.outcome}`);
    },
    (err: unknown) => {
      t.at = h.scheduler.now();
      t.error = err;
    },
  );
  return t;
}

describe('whenIdle and status$.synced (engine, virtual time)', () => {
  test('resolves once every op enqueued before the call settled and its result was emitted; later ops are not waited for', async () => {
    const scheduler = new VirtualTimeScheduler();
    const h = new EngineHarness(scheduler);
    h.server.script(ok(), fail(400), hang());
    h.enqueue('a');
    h.enqueue('b');
    h.engine.start();
    const idle = track(h, h.engine.whenIdle());
    h.at(55, () => h.enqueue('c')); // hangs in flight: after the call, not waited for
    await runUntil(scheduler, 5_000);
    expect(idle.error).toBeUndefined();
    expect(idle.at).toBe(70);
    expect(idle.resultsThen).toEqual(['tx-a:committed', 'tx-b:failed']);
    expect(h.status).toMatchObject({ pending: 1, inFlight: expect.any(String), synced: false });
  });

  test('waits for an enqueue() whose write has not landed yet', async () => {
    const scheduler = new VirtualTimeScheduler();
    const h = new EngineHarness(scheduler, { storeLatencyMs: { append: 100 } });
    h.engine.start();
    await runUntil(scheduler, 60);
    h.enqueue('a'); // durable at 160
    const idle = track(h, h.engine.whenIdle());
    await runUntil(scheduler, 5_000);
    expect(idle.at).toBe(170);
    expect(idle.resultsThen).toEqual(['tx-a:committed']);
  });

  test('status$.synced turns true only after the last result: never while the last commit is written before its result', async () => {
    const scheduler = new VirtualTimeScheduler();
    const h = new EngineHarness(scheduler);
    const seen: Array<{ synced: boolean; pending: number; results: number }> = [];
    h.engine.status$.subscribe((s) => seen.push({ synced: s.synced, pending: s.pending, results: h.results.length }));
    expect(h.status.synced).toBe(true); // counts read: an empty queue
    h.enqueue('a');
    h.enqueue('b');
    expect(h.status.synced).toBe(false);
    h.engine.start();
    await runUntil(scheduler, 5_000);
    const synced = seen.filter((s) => s.synced);
    expect(synced.map((s) => s.results)).toEqual([0, 2]); // before the enqueues, then after both results
    // The window the flag exists for: the store says nothing is pending, the result is not out yet.
    expect(seen).toContainEqual({ synced: false, pending: 0, results: 1 });
    expect(h.status.synced).toBe(true);
  });

  test('rejects with TimeoutError idle_timeout after timeoutMs', async () => {
    const scheduler = new VirtualTimeScheduler();
    const h = new EngineHarness(scheduler);
    h.server.script(hang());
    h.enqueue('a');
    h.engine.start();
    const idle = track(h, h.engine.whenIdle({ timeoutMs: 1_000 }));
    await runUntil(scheduler, 5_000);
    expect(idle.at).toBe(1_000);
    expect(idle.error).toBeInstanceOf(TimeoutError);
    expect(idle.error).toMatchObject({ kind: 'timeout', code: 'idle_timeout' });
  });

  test('rejects with the signal\'s reason when it aborts (at once if it already has)', async () => {
    const scheduler = new VirtualTimeScheduler();
    const h = new EngineHarness(scheduler);
    h.server.script(hang());
    h.enqueue('a');
    h.engine.start();
    const controller = new AbortController();
    const reason = new Error('signing out');
    const idle = track(h, h.engine.whenIdle({ signal: controller.signal }));
    h.at(300, () => controller.abort(reason));
    await runUntil(scheduler, 1_000);
    expect(idle).toMatchObject({ at: 300, error: reason });
    const again = track(h, h.engine.whenIdle({ signal: controller.signal }));
    await runUntil(scheduler, 1_001);
    expect(again.error).toBe(reason);
  });

  test('rejects once the engine is disposed', async () => {
    const scheduler = new VirtualTimeScheduler();
    const h = new EngineHarness(scheduler);
    h.enqueue('a'); // never started: never sent
    const idle = track(h, h.engine.whenIdle());
    void h.engine.dispose();
    await runUntil(scheduler, 100);
    expect(idle.error).toBeInstanceOf(ValidationError);
  });

  test('an engine that does not hold the lock resolves once the holder settled the ops (seen at its idle poll)', async () => {
    const scheduler = new VirtualTimeScheduler();
    const data = new MemoryStoreData();
    const holder = new EngineHarness(scheduler, { data, idlePollMs: 1_000 });
    const other = new EngineHarness(scheduler, { data, idlePollMs: 1_000 });
    holder.engine.start();
    await runUntil(scheduler, 100);
    other.enqueue('x'); // the holder finds it at its next idle poll (t=1050)
    const idle = track(other, other.engine.whenIdle());
    await runUntil(scheduler, 5_000);
    expect(holder.results.map((r) => r.txToken)).toEqual(['tx-x']);
    expect(idle.error).toBeUndefined();
    expect(idle.at).toBeGreaterThan(1_060);
  });
});

describe('whenIdle with accounts in use (engine, virtual time)', () => {
  test("resolves for the signed-in account while another account's older ops wait for their sign-in", async () => {
    const scheduler = new VirtualTimeScheduler();
    const account$ = new BehaviorSubject<string | null>('A');
    const h = new EngineHarness(scheduler, { account$ });
    h.auth.current = 'token-A';
    h.online$.next(false);
    h.engine.start();
    h.enqueue('a1');
    h.enqueue('a2');
    await runUntil(scheduler, 10);
    // A signs out, B signs in and enqueues; A's ops stay pending.
    h.auth.current = 'token-B';
    account$.next('B');
    h.enqueue('b1');
    await runUntil(scheduler, 20);
    const idle = track(h, h.engine.whenIdle({ timeoutMs: 10_000 }));
    h.at(100, () => h.online$.next(true));
    await runUntil(scheduler, 5_000);
    expect(idle.error).toBeUndefined();
    expect(idle.resultsThen).toEqual(['tx-b1:committed']);
    expect(h.store.pendingOps().map((o) => o.txToken)).toEqual(['tx-a1', 'tx-a2']);
  });

  test('signed out, nothing can be sent: resolves at once though an op with no account and one of A are pending (they wait for a sign-in), as status$.synced says', async () => {
    const scheduler = new VirtualTimeScheduler();
    const data = new MemoryStoreData();
    const { legacy, ofA } = legacyAndAccountAOps();
    data.pending.set(legacy.id, legacy);
    data.pending.set(ofA.id, ofA);
    const h = new EngineHarness(scheduler, { account$: new BehaviorSubject<string | null>(null), data });
    h.engine.start();
    await runUntil(scheduler, 100);
    const idle = track(h, h.engine.whenIdle({ timeoutMs: 10_000 }));
    await runUntil(scheduler, 200);
    expect(idle.error).toBeUndefined();
    expect(idle.at).toBe(100);
    expect(h.status).toMatchObject({ blockedBy: ['signedOut'], pending: 2, waitingForAccount: 2, synced: true });
    expect(h.server.requests).toEqual([]);
    await h.engine.dispose();
  });
});

describe('owedNow: the ops whenIdle waits for', () => {
  test.each([
    ['no accounts: an op with no account', undefined, null, false, true],
    ['no accounts: an op stamped by an earlier run with account$ is never sent', 'A', null, false, false],
    ['signed in as A: its op', 'A', 'A', true, true],
    ['signed in as A: an op with no account', undefined, 'A', true, true],
    ["signed in as B: A's op", 'A', 'B', true, false],
    ['signed out: an op with no account waits for a sign-in', undefined, null, true, false],
    ["signed out: A's op", 'A', null, true, false],
  ] as const)('%s', (_name, accountId, account, accountsInUse, owed) => {
    expect(owedNow(accountId === undefined ? {} : { accountId }, account, accountsInUse)).toBe(owed);
  });
});
