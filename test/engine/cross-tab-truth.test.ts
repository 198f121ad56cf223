import { VirtualTimeScheduler } from 'rxjs';
import { crossTabWake } from '../../src/engine/cross-tab-port';
import type { OpResult } from '../../src/engine/sync-engine';
import { createOptimisticStore, type OptimisticStore, type PendingEntry } from '../../src/optimistic/create-optimistic-store';
import type { PendingOp } from '../../src/op/pending-op';
import { EngineHarness } from '../support/engine-harness';
import { MemoryCrossTabBus } from '../support/memory-cross-tab-bus';
import { MemoryStoreData } from '../support/memory-store-port';
import { fail, hang, ok } from '../support/scripted-transport';
import { runUntil } from '../support/virtual-time';

// Tabs in virtual time: engines on one storage (shared MemoryStoreData, each
// with its own store instance and change feed), joined by a fake
// BroadcastChannel (MemoryCrossTabBus). Tab 0 starts first and holds the
// lock from t=50; the others wait. Every scripted answer takes 10 ms. Each
// engine audits the store every second (idlePollMs: 1000).

type Todo = string;
interface Tab {
  readonly h: EngineHarness;
  readonly view: OptimisticStore<Todo[]>;
  readonly states: Todo[][];
  readonly confirmed: Todo[][];
  readonly pending: (readonly PendingEntry[])[];
}

function openTabs(n: number, options: { readonly idlePollMs?: number } = {}) {
  const scheduler = new VirtualTimeScheduler();
  const data = new MemoryStoreData();
  const bus = new MemoryCrossTabBus(scheduler);
  const tabs: Tab[] = Array.from({ length: n }, (_, i) => {
    const port = bus.port();
    const h = new EngineHarness(scheduler, {
      data,
      crossTab: port,
      wake: crossTabWake(port),
      idlePollMs: options.idlePollMs ?? 1000,
      lockOptions: { ownerId: `T${i}` },
    });
    // Order matters (a list), and the commit ignores the server's data: views must agree op for op.
    const view = createOptimisticStore<Todo[]>(h.engine, {
      initial: [],
      apply: { 'todo.create': (s, p) => [...s, (p as { id: string }).id] },
      commit: { 'todo.create': (s, p) => [...s, `${(p as { id: string }).id}✓`] },
    });
    const tab: Tab = { h, view, states: [], confirmed: [], pending: [] };
    view.state$.subscribe((s) => tab.states.push(s));
    view.confirmed$.subscribe((s) => tab.confirmed.push(s));
    view.pending$.subscribe((p) => tab.pending.push(p));
    return tab;
  });
  return { scheduler, data, bus, tabs };
}

const enqueue = (h: EngineHarness, id: string): Promise<PendingOp> =>
  h.engine.enqueue({ type: 'todo.create', payload: { id, title: `title ${id}` }, txToken: `tx-${id}` });

const outcomes = (h: EngineHarness): Record<string, string> =>
  Object.fromEntries(h.results.map((r) => [r.txToken, r.outcome === 'failed' ? `failed:${r.reason}` : r.outcome]));
const last = <T>(xs: readonly T[]): T | undefined => xs[xs.length - 1];
const closeAll = async (tabs: readonly Tab[]) => {
  for (const t of tabs) t.view.dispose();
  await Promise.all(tabs.map((t) => t.h.engine.dispose()));
};

describe('every tab tells the truth (cross-tab port, virtual time)', () => {
  test("every tab's results$ has every op's outcome exactly once, whichever tab enqueued it; the views end identical", async () => {
    const { scheduler, tabs } = openTabs(3);
    const [a, b, c] = tabs as [Tab, Tab, Tab];
    // FIFO: b1 b2 a1 c1 b3; a1 is refused (400).
    a.h.server.script(ok({ id: 'b1' }), ok({ id: 'b2' }), fail(400), ok({ id: 'c1' }), ok({ id: 'b3' }));
    for (const t of tabs) t.h.engine.start();
    await runUntil(scheduler, 1_000);
    await enqueue(b.h, 'b1');
    await enqueue(b.h, 'b2');
    await enqueue(a.h, 'a1');
    await enqueue(c.h, 'c1');
    await enqueue(b.h, 'b3');
    await runUntil(scheduler, 3_000);

    const expected = { 'tx-b1': 'committed', 'tx-b2': 'committed', 'tx-a1': 'failed:permanent', 'tx-c1': 'committed', 'tx-b3': 'committed' };
    for (const t of tabs) {
      expect(t.h.results).toHaveLength(5);
      expect(outcomes(t.h)).toEqual(expected);
      // The holder's decoded data travels with its results.
      expect(t.h.results.filter((r) => r.outcome === 'committed').map((r) => r.data)).toEqual([{ id: 'b1' }, { id: 'b2' }, { id: 'c1' }, { id: 'b3' }]);
      expect(last(t.states)).toEqual(['b1✓', 'b2✓', 'c1✓', 'b3✓']);
      expect(last(t.confirmed)).toEqual(['b1✓', 'b2✓', 'c1✓', 'b3✓']);
      expect(last(t.pending)).toEqual([]);
      expect(t.h.status.pending).toBe(0);
    }
    // Only the holder sent, each op once, and the other tabs' appends reached it at once (the cross-tab wake).
    expect(a.h.sentIds()).toEqual(['b1', 'b2', 'a1', 'c1', 'b3']);
    expect(a.h.server.requests[0]!.sentAt).toBe(1_000);
    expect(b.h.server.requests).toEqual([]);
    expect(c.h.server.requests).toEqual([]);

    // The refused op's dead letter discarded in the holder: every tab hears it (after its result), none reports twice.
    const discarded: string[] = [];
    b.view.rollbacks$.subscribe((r) => discarded.push(`${r.txToken}:${r.reason}`));
    const [record] = await a.h.engine.failedOps.list();
    await a.h.engine.failedOps.discard(record!.id);
    await runUntil(scheduler, 4_000);
    expect(discarded).toEqual(['tx-a1:discarded']);
    for (const t of tabs) {
      expect(t.h.status.failed).toBe(0);
      expect(t.h.results).toHaveLength(5);
    }
    await closeAll(tabs);
  });

  test('the views agree while ops are pending: an op of another tab that sorts before ours is shown in FIFO order', async () => {
    const { scheduler, tabs } = openTabs(2);
    const [a, b] = tabs as [Tab, Tab];
    a.h.server.script(hang());
    a.h.engine.start();
    b.h.engine.start();
    await runUntil(scheduler, 1_000);
    await enqueue(a.h, 'head'); // in flight for good: the others stay queued
    // x is made (its id taken) before y, but y is durable first, in the other tab.
    const x = enqueue(b.h, 'x');
    await enqueue(a.h, 'y');
    await x;
    await runUntil(scheduler, 2_000);
    expect(last(a.states)).toEqual(['head', 'x', 'y']);
    expect(last(b.states)).toEqual(['head', 'x', 'y']);
    expect(last(b.pending)?.map((p) => p.txToken)).toEqual(['tx-head', 'tx-x', 'tx-y']);
    await closeAll(tabs);
  });

  test('a tab that missed the messages (frozen) finds each outcome in the store: ledger → committed, failed_ops → failed, neither → unknown', async () => {
    const { scheduler, bus, tabs } = openTabs(2);
    const [a, b] = tabs as [Tab, Tab];
    // b1 commits, b2 is refused, b3 is refused and its dead letter discarded, b4 stays in flight.
    a.h.server.script(ok({ id: 'b1' }), fail(400), fail(404), hang());
    a.h.engine.start();
    b.h.engine.start();
    await runUntil(scheduler, 500);
    bus.deaf(1); // B misses everything from here on (its own appends still reach A)
    for (const id of ['b1', 'b2', 'b3', 'b4']) await enqueue(b.h, id);
    await runUntil(scheduler, 1_200);
    const b3 = (await a.h.engine.failedOps.list()).find((r) => r.op?.txToken === 'tx-b3')!;
    await a.h.engine.failedOps.discard(b3.id);
    await runUntil(scheduler, 1_500);
    expect(b.h.results).toEqual([]); // nothing heard yet
    await runUntil(scheduler, 4_000); // two audits

    expect(outcomes(b.h)).toEqual({ 'tx-b1': 'committed', 'tx-b2': 'failed:permanent', 'tx-b3': 'unknown' });
    expect(b.h.results).toHaveLength(3);
    // Recovered: no data (the message with it was lost), the store's error and the fixed message.
    const byTx = (tx: string) => b.h.results.find((r) => r.txToken === tx) as OpResult;
    expect(byTx('tx-b1').data).toBeUndefined();
    expect(byTx('tx-b2').error).toMatchObject({ kind: 'permanent', status: 400 });
    expect(byTx('tx-b3').message).toMatch(/another window/);
    // b4 is in flight: never reported, still a pending layer in both views.
    expect(last(b.states)).toEqual(['b1✓', 'b4']);
    expect(last(a.states)).toEqual(['b1✓', 'b4']);
    expect(last(b.pending)?.map((p) => p.txToken)).toEqual(['tx-b4']);

    // B hears again: nothing is reported twice; b4 (its request timed out, resent) is heard live.
    bus.deaf(1, false);
    await runUntil(scheduler, 8_000);
    expect(outcomes(b.h)).toEqual({ 'tx-b1': 'committed', 'tx-b2': 'failed:permanent', 'tx-b3': 'unknown', 'tx-b4': 'committed' });
    expect(b.h.results).toHaveLength(4);
    expect(last(b.states)).toEqual(last(a.states));
    await closeAll(tabs);
  });

  test('an op appended in another tab whose message was lost is found by the audit and shown', async () => {
    const { scheduler, bus, tabs } = openTabs(2);
    const [a, b] = tabs as [Tab, Tab];
    a.h.server.script(hang());
    a.h.engine.start();
    b.h.engine.start();
    await runUntil(scheduler, 500);
    await enqueue(a.h, 'head');
    await runUntil(scheduler, 2_500); // B's audits have learned the queue
    bus.deaf(1);
    await enqueue(a.h, 'lost');
    await runUntil(scheduler, 2_600);
    bus.deaf(1, false);
    expect(last(b.states)).toEqual(['head']);
    await runUntil(scheduler, 4_000);
    expect(last(b.states)).toEqual(['head', 'lost']);
    expect(b.h.results).toEqual([]);
    await closeAll(tabs);
  });

  test('cancel(opId) on a tab without the lock is answered by the holder: cancelled everywhere once; in flight and unknown are refused', async () => {
    const { scheduler, tabs } = openTabs(2);
    const [a, b] = tabs as [Tab, Tab];
    a.h.server.script(hang());
    a.h.engine.start();
    b.h.engine.start();
    await runUntil(scheduler, 500);
    const head = await enqueue(a.h, 'head');
    const queued = await enqueue(b.h, 'queued');
    await runUntil(scheduler, 600);
    const settled: string[] = [];
    const cancel = (id: PendingOp['id']) =>
      b.h.engine.cancel(id).then(
        () => settled.push(`ok:${b.h.results.length}`),
        (err: { name: string; code?: string }) => settled.push(`${err.name}:${err.code}`),
      );
    void cancel(queued.id);
    void cancel(head.id);
    void cancel('0190d000-0000-7000-8000-000000000000' as PendingOp['id']);
    await runUntil(scheduler, 700);
    // The cancelled result reached B before its promise settled.
    expect(settled.sort()).toEqual(['ValidationError:opInFlight', 'ValidationError:unknownOp', 'ok:1']);
    for (const t of tabs) {
      expect(outcomes(t.h)).toEqual({ 'tx-queued': 'cancelled' });
      expect(last(t.states)).toEqual(['head']);
    }
    expect(a.h.sentIds()).toEqual(['head']);
    await closeAll(tabs);
  });

  test('cancel with no lock holder anywhere: TimeoutError cancel_timeout, nothing removed', async () => {
    const { scheduler, data, tabs } = openTabs(2);
    const [, b] = tabs as [Tab, Tab];
    const op = await enqueue(b.h, 'x'); // no engine started: no holder
    let error: { name?: string; code?: string } | undefined;
    b.h.engine.cancel(op.id).catch((err: { name: string; code: string }) => (error = err));
    await runUntil(scheduler, 4_900);
    expect(error).toBeUndefined();
    await runUntil(scheduler, 5_100);
    expect(error).toMatchObject({ name: 'TimeoutError', code: 'cancel_timeout' });
    expect([...data.pending.keys()]).toEqual([op.id]);
    await closeAll(tabs);
  });

  test('the holder dies before answering: the tab that takes the lock over cancels the op itself, under the lock', async () => {
    const { scheduler, tabs } = openTabs(2);
    const [a, b] = tabs as [Tab, Tab];
    a.h.server.script(hang());
    b.h.server.script(hang());
    a.h.engine.start();
    b.h.engine.start();
    await runUntil(scheduler, 500);
    await enqueue(a.h, 'head');
    const queued = await enqueue(b.h, 'queued');
    await runUntil(scheduler, 600);
    a.h.crash(); // no answer, no release: B takes over after staleAfterMs
    let done = false;
    void b.h.engine.cancel(queued.id).then(() => (done = true));
    await runUntil(scheduler, 5_500);
    expect(b.h.events.some((e) => e.type === 'lockAcquired')).toBe(true);
    expect(done).toBe(true);
    expect(outcomes(b.h)).toEqual({ 'tx-queued': 'cancelled' });
    expect(b.h.sentIds()).toEqual(['head']);
    await closeAll(tabs);
  });
  test("the holder's op in flight shows as `sending` in every tab's pending$ (said again while it lasts), and as queued once it ended", async () => {
    const { scheduler, tabs } = openTabs(2);
    const [a, b] = tabs as [Tab, Tab];
    a.h.server.script(ok({ id: 's1' }, 3_500), ok({ id: 's2' }));
    a.h.engine.start();
    b.h.engine.start();
    await runUntil(scheduler, 1_000);
    await enqueue(b.h, 's1');
    await enqueue(b.h, 's2');
    await runUntil(scheduler, 1_100);
    const statusOf = (t: Tab) => last(t.pending)?.map((p) => `${p.txToken}:${p.status}`);
    expect(statusOf(a)).toEqual(['tx-s1:sending', 'tx-s2:queued']);
    expect(statusOf(b)).toEqual(['tx-s1:sending', 'tx-s2:queued']);
    expect(b.h.status.inFlight).toBe(a.h.status.inFlight);
    // 3.5 s on the wire, past three audits: the holder keeps saying so, the other tab keeps showing it.
    await runUntil(scheduler, 4_400);
    expect(statusOf(b)).toEqual(['tx-s1:sending', 'tx-s2:queued']);
    await runUntil(scheduler, 6_000);
    for (const t of tabs) expect(last(t.pending)).toEqual([]);
    expect(b.h.status.inFlight).toBeUndefined();
    // Never `sending` in B for an op A was not sending.
    expect(b.pending.flat().filter((p) => p.status === 'sending').every((p) => p.txToken === 'tx-s1' || p.txToken === 'tx-s2')).toBe(true);
    await closeAll(tabs);
  });

  test("a lost message never leaves an op shown `sending`: without word from the holder it falls back to queued after a few audits", async () => {
    const { scheduler, bus, tabs } = openTabs(2);
    const [a, b] = tabs as [Tab, Tab];
    a.h.server.script(hang());
    a.h.engine.start();
    b.h.engine.start();
    await runUntil(scheduler, 1_000);
    await enqueue(b.h, 'h1');
    await runUntil(scheduler, 1_100);
    expect(last(b.pending)?.map((p) => p.status)).toEqual(['sending']);
    // From here B hears nothing from the holder (a channel lost, a holder frozen): neither its word again nor an "ended".
    bus.deaf(1);
    await runUntil(scheduler, 2_100);
    expect(last(b.pending)?.map((p) => p.status)).toEqual(['sending']); // one quiet audit: not yet
    await runUntil(scheduler, 4_100);
    expect(last(b.pending)?.map((p) => p.status)).toEqual(['queued']);
    expect(b.h.status.inFlight).toBeUndefined();
    await closeAll(tabs);
  });
});
