import { marbles } from 'rxjs-marbles/jest';
import { VirtualTimeScheduler, defer, delay, type Observable } from 'rxjs';
import type { AuthPort } from '../../streams/ports';
import { EngineHarness, FakeAuth } from '../support/engine-harness';
import { fail, ok, type RecordedRequest } from '../support/scripted-transport';
import { runUntil } from '../support/virtual-time';

// The engine with `concurrency` over keyed routes (`orderKey` = the todo's
// id), through the real processOp, in virtual time. The storage lock is
// acquired at t=50; scripted answers take 10 ms unless said otherwise;
// random() is 0.5, so the first backoff wait is 500 ms.

/** Enqueue a todo op: `create` or `update` of todo `id`. */
function enqueue(h: EngineHarness, kind: 'create' | 'update', id: string, n: number): void {
  void h.engine.enqueue({ type: kind === 'create' ? 'todo.create' : 'todo.update', payload: { id, title: `t${n}` }, txToken: `tx${n}` });
}

/** Title (`tN`) of each request, in send order. */
const sent = (h: EngineHarness): string[] => h.server.requests.map((r) => (JSON.parse(r.request.body ?? '{}') as { title: string }).title);
const sentAt = (h: EngineHarness, title: string): number[] =>
  h.server.requests.filter((r) => (JSON.parse(r.request.body ?? '{}') as { title: string }).title === title).map((r) => r.sentAt);
const committed = (h: EngineHarness): string[] => h.results.filter((r) => r.outcome === 'committed').map((r) => r.txToken);

/** Most requests on the wire at once. */
function maxOverlap(requests: readonly RecordedRequest[]): number {
  const edges = requests.flatMap((r) => [
    { at: r.sentAt, d: 1 },
    { at: r.answeredAt ?? r.abortedAt ?? Number.POSITIVE_INFINITY, d: -1 },
  ]);
  edges.sort((a, b) => a.at - b.at || a.d - b.d);
  let now = 0;
  let max = 0;
  for (const e of edges) max = Math.max(max, (now += e.d));
  return max;
}

/** Lets the Promises of the run (cancel, whenIdle) settle after the flush. */
const settled = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** An auth port whose refresh takes `ms` (virtual time). */
function slowRefresh(inner: FakeAuth, ms: number, scheduler: EngineHarness['scheduler']): AuthPort {
  return {
    token: () => inner.token(),
    refresh: (rejected): Observable<string> => defer(() => inner.refresh()).pipe(delay(ms, scheduler)),
    refreshed$: inner.refreshed$,
  };
}

describe('concurrency with per-key order (engine, virtual time)', () => {
  test(
    'one key backing off blocks only itself: the others are sent and committed meanwhile; its next op waits for it; status shows the load',
    marbles((m) => {
      const h = new EngineHarness(m.scheduler, { concurrency: 3 });
      h.server.fallback = ok({ id: 'x' });
      h.server.script(fail(500), ok({ id: 'b' }), ok({ id: 'c' }));
      enqueue(h, 'create', 'a', 1);
      enqueue(h, 'create', 'b', 2);
      enqueue(h, 'update', 'a', 3);
      enqueue(h, 'create', 'c', 4);
      h.engine.start();
      h.at(20_000, () => void h.engine.stop());
      h.at(300, () => {
        expect(committed(h)).toEqual(['tx2', 'tx4']);
        expect(h.status).toMatchObject({ pending: 2, blockedKeys: 1, lastError: { kind: 'server', status: 500 } });
        expect(h.status.inFlightCount).toBeUndefined();
      });
      m.flush();
      // a1 and its retry, then a3 only after a1 committed; b and c at once.
      expect(sent(h)).toEqual(['t1', 't2', 't4', 't1', 't3']);
      expect(sentAt(h, 't2')).toEqual([50]);
      expect(sentAt(h, 't4')).toEqual([50]);
      expect(sentAt(h, 't1')).toEqual([50, 560]);
      expect(sentAt(h, 't3')[0]).toBeGreaterThanOrEqual(570);
      expect(committed(h)).toEqual(['tx2', 'tx4', 'tx1', 'tx3']);
      expect(h.status).toMatchObject({ pending: 0, synced: true });
      expect(h.status.blockedKeys).toBeUndefined();
    }),
  );

  test(
    'an op waiting for its 401 refresh blocks only its key, and holds no request slot',
    marbles((m) => {
      const inner = new FakeAuth();
      inner.refreshes.push('token-2');
      const h = new EngineHarness(m.scheduler, { concurrency: 1 + 1, auth: slowRefresh(inner, 1000, m.scheduler) });
      h.server.fallback = ok({ id: 'x' });
      h.server.script(fail(401));
      enqueue(h, 'create', 'a', 1);
      enqueue(h, 'update', 'a', 2);
      enqueue(h, 'create', 'b', 3);
      enqueue(h, 'create', 'c', 4);
      enqueue(h, 'create', 'd', 5);
      h.engine.start();
      h.at(20_000, () => void h.engine.stop());
      m.flush();
      // b, c, d go through both slots while a1 waits ~1 s for its token.
      expect(committed(h)).toEqual(['tx3', 'tx4', 'tx5', 'tx1', 'tx2']);
      expect(sentAt(h, 't5')[0]).toBeLessThan(1000);
      expect(sentAt(h, 't1')).toEqual([50, 1060]);
      expect(sentAt(h, 't2')[0]).toBeGreaterThanOrEqual(1070);
      expect(h.server.requests[1]!.request.headers.Authorization).toBe('Bearer token-1');
      expect(h.server.requests.find((r) => r.sentAt === 1060)!.request.headers.Authorization).toBe('Bearer token-2');
    }),
  );

  test(
    'never more than `concurrency` requests on the wire; every op once; per-key order as the server saw it',
    marbles((m) => {
      const h = new EngineHarness(m.scheduler, { concurrency: 3 });
      h.server.fallback = ok({ id: 'x' }, 40);
      let n = 0;
      for (let round = 0; round < 4; round++) for (const id of ['a', 'b', 'c', 'd', 'e']) enqueue(h, round === 0 ? 'create' : 'update', id, ++n);
      h.engine.start();
      h.at(20_000, () => void h.engine.stop());
      m.flush();
      expect(maxOverlap(h.server.requests)).toBe(3);
      expect(h.server.requests).toHaveLength(20);
      expect(new Set(sent(h)).size).toBe(20);
      // Per todo, the server saw its ops in enqueue order and never two at once.
      for (const id of ['a', 'b', 'c', 'd', 'e']) {
        const ofId = h.server.requests.filter((r) => r.request.url.endsWith(`/${id}`) || (JSON.parse(r.request.body ?? '{}') as { id: string }).id === id);
        const titles = ofId.map((r) => Number((JSON.parse(r.request.body ?? '{}') as { title: string }).title.slice(1)));
        expect(titles).toEqual([...titles].sort((x, y) => x - y));
        for (let i = 1; i < ofId.length; i++) expect(ofId[i]!.sentAt).toBeGreaterThanOrEqual(ofId[i - 1]!.answeredAt!);
      }
      expect(h.status).toMatchObject({ pending: 0, synced: true });
    }),
  );

  test(
    'cancel with several ops in flight: a request out is refused, a waiting op is cancelled, a held op is removed',
    marbles((m) => {
      const h = new EngineHarness(m.scheduler, { concurrency: 2 });
      h.server.fallback = ok({ id: 'x' });
      h.server.script(fail(500), ok({}, 400));
      enqueue(h, 'create', 'a', 1);
      enqueue(h, 'create', 'b', 2);
      enqueue(h, 'update', 'b', 3);
      h.engine.start();
      h.at(20_000, () => void h.engine.stop());
      const outcomes: string[] = [];
      h.at(100, () => {
        const [a, b, b2] = h.store.pendingOps();
        void h.engine.cancel(b!.id).catch((e: { reason: string }) => outcomes.push(`b:${e.reason}`));
        void h.engine.cancel(a!.id).then(() => outcomes.push('a:cancelled'));
        void h.engine.cancel(b2!.id).then(() => outcomes.push('b3:cancelled'));
      });
      m.flush();
      return settled().then(() => {
      expect(outcomes.sort()).toEqual(['a:cancelled', 'b3:cancelled', 'b:opInFlight']);
      expect(h.results.map((r) => [r.txToken, r.outcome])).toEqual([
        ['tx1', 'cancelled'],
        ['tx3', 'cancelled'],
        ['tx2', 'committed'],
      ]);
      expect(sent(h)).toEqual(['t1', 't2']);
      expect(h.eventTypes('cancelled')).toHaveLength(2);
      });
    }),
  );

  test('whenIdle resolves once every op enqueued before it settled, with several in flight', async () => {
    const scheduler = new VirtualTimeScheduler();
    const h = new EngineHarness(scheduler, { concurrency: 4 });
    h.server.fallback = ok({ id: 'x' }, 30);
    for (let i = 1; i <= 6; i++) enqueue(h, 'create', `k${i}`, i);
    let idleAt = -1;
    void h.engine.whenIdle().then(() => (idleAt = scheduler.now()));
    h.engine.start();
    await runUntil(scheduler, 5_000);
    expect(committed(h)).toHaveLength(6);
    expect(maxOverlap(h.server.requests)).toBe(4);
    // Two rounds of 30 ms from t=50 (strict FIFO would take six).
    expect(idleAt).toBeGreaterThanOrEqual(110);
    expect(idleAt).toBeLessThan(140);
    await h.engine.dispose();
  });
});

