import { BehaviorSubject, VirtualTimeScheduler, of } from 'rxjs';
import { createSyncEngine, type SyncEngine } from '../../src/create-sync-engine';
import type { EngineEvent, OpResult } from '../../src/engine/sync-engine';
import { generateStoreKey } from '../../src/crypto/record-cipher';
import { defineMemoryDriver } from '../../src/drivers/memory-driver';
import { nodeAesGcm } from '../../src/node/node-aes-gcm';
import { createOpStore } from '../../src/store/create-op-store';
import type { OpStore } from '../../src/store/op-store';
import { testRoutes } from '../support/engine-harness';
import { FakeLockOrigin, type FakePage } from '../support/fake-lock-manager';
import { runUntil } from '../support/virtual-time';

/**
 * Whole engines (`createSyncEngine`: the default, fenced lock) on one
 * in-memory store, each in its own "tab" of a fake Web Locks origin, in
 * virtual time. The server answers every request 201 at once unless told
 * to hold one.
 */
interface Sent {
  readonly tab: string;
  readonly id: string;
  readonly key: string;
  readonly at: number;
}

class Server {
  readonly sent: Sent[] = [];
  /** Ids whose answer waits until `answer(id)`. */
  readonly #held = new Map<string, Array<() => void>>();
  readonly #hold = new Set<string>();

  constructor(private readonly scheduler: VirtualTimeScheduler) {}

  hold(id: string): void {
    this.#hold.add(id);
  }

  answer(id: string): void {
    this.#hold.delete(id);
    for (const resolve of this.#held.get(id) ?? []) resolve();
    this.#held.delete(id);
  }

  fetchFor(tab: string): typeof fetch {
    return async (_url, init) => {
      const body = JSON.parse(String(init?.body)) as { id: string };
      const key = new Headers(init?.headers).get('idempotency-key') ?? '';
      this.sent.push({ tab, id: body.id, key, at: this.scheduler.now() });
      if (this.#hold.has(body.id)) await new Promise<void>((resolve) => this.#held.set(body.id, [...(this.#held.get(body.id) ?? []), resolve]));
      return new Response(JSON.stringify({ data: { id: body.id } }), { status: 201, headers: { 'content-type': 'application/json' } });
    };
  }
}

interface Tab {
  readonly engine: SyncEngine;
  readonly events: EngineEvent[];
  readonly results: OpResult[];
  readonly page: FakePage;
  readonly suspended$: BehaviorSubject<boolean>;
  /** The page is discarded: pagehide, its locks let go, and from now on its store and network calls never settle. */
  readonly discard: () => void;
}

/** `store` whose calls never settle once `dead()` (a discarded page runs no more code). */
function killable(store: OpStore, dead: () => boolean): OpStore {
  return new Proxy(store, {
    get: (t, p) => {
      const v: unknown = Reflect.get(t, p, t);
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => (dead() ? new Promise(() => undefined) : (v as (...a: unknown[]) => unknown).apply(t, args));
    },
  });
}

let n = 0;

describe('engines in tabs with the Web Locks lock (createSyncEngine, fake LockManager, virtual time)', () => {
  let scheduler: VirtualTimeScheduler;
  let origin: FakeLockOrigin;
  let server: Server;
  let name: string;
  let key: CryptoKey;
  const stores: OpStore[] = [];
  const engines: SyncEngine[] = [];

  beforeEach(async () => {
    scheduler = new VirtualTimeScheduler();
    origin = new FakeLockOrigin();
    server = new Server(scheduler);
    name = `web-lock-engines-${(n += 1)}`;
    key = await generateStoreKey();
  });
  afterEach(async () => {
    await Promise.allSettled(engines.splice(0).map((e) => e.dispose()));
    await Promise.allSettled(stores.splice(0).map((s) => s.close()));
  });

  async function openTab(label: string, spy?: (store: OpStore) => void): Promise<Tab> {
    const store = await createOpStore({ name, driver: await defineMemoryDriver(), encryptionKey: key, aesGcm: nodeAesGcm });
    stores.push(store);
    spy?.(store);
    const page = origin.page();
    const suspended$ = new BehaviorSubject(false);
    let dead = false;
    const fetchAs = server.fetchFor(label);
    const engine = createSyncEngine({
      baseUrl: 'https://api.example.com',
      routes: testRoutes,
      store: killable(store, () => dead),
      fetch: (url, init) => (dead ? new Promise(() => undefined) : fetchAs(url, init)),
      online$: of(true),
      constraints$: of({}),
      scheduler,
      idlePollMs: 0,
      rateLimit: false,
      lock: { locks: page, suspended$ },
    });
    engines.push(engine);
    const discard = (): void => {
      suspended$.next(true);
      dead = true;
      page.close();
      engines.splice(engines.indexOf(engine), 1); // its dispose() would wait for calls that never settle
    };
    const tab: Tab = { engine, events: [], results: [], page, suspended$, discard };
    engine.events$.subscribe((e) => tab.events.push(e));
    engine.results$.subscribe((r) => tab.results.push(r));
    return tab;
  }

  test('a draining holder writes its commits merged, several ops per completeAll, through the fenced store', async () => {
    const sizes: number[] = [];
    const a = await openTab('A', (store) => {
      const completeAll = store.completeAll!.bind(store);
      store.completeAll = (done) => {
        sizes.push(done.length);
        return completeAll(done);
      };
    });
    for (let i = 0; i < 12; i++) await a.engine.enqueue({ type: 'todo.create', payload: { id: `m${i}`, title: 'm' }, txToken: `tx-m${i}` });
    a.engine.start();
    await runUntil(scheduler, 1_000);
    expect(a.results.map((r) => r.outcome)).toEqual(Array(12).fill('committed'));
    expect(server.sent.map((s) => s.id)).toEqual(Array.from({ length: 12 }, (_, i) => `m${i}`));
    // Merged: one guarded `completeAll` is the same function for every commit.
    expect(sizes.reduce((x, y) => x + y, 0)).toBe(12);
    expect(sizes.length).toBeLessThan(12);
  });

  /** Tabs A and B: A starts (and takes the lock) at 0, B starts at 100 and waits. */
  async function aHoldsThenBStarts(): Promise<[Tab, Tab]> {
    const a = await openTab('A');
    const b = await openTab('B');
    a.engine.start();
    await runUntil(scheduler, 100);
    b.engine.start();
    return [a, b];
  }

  const enqueue = (tab: Tab, id: string) => tab.engine.enqueue({ type: 'todo.create', payload: { id, title: id }, txToken: `tx-${id}` });
  const at = (tab: Tab, type: EngineEvent['type']) => tab.events.filter((e) => e.type === type).map((e) => e.at);
  const committed = (tab: Tab) => tab.results.filter((r) => r.outcome === 'committed').map((r) => r.txToken);

  test('dispose() releases the lock: the waiting engine acquires it at once and sends', async () => {
    const [a, b] = await aHoldsThenBStarts();
    await runUntil(scheduler, 200);
    expect(at(a, 'lockAcquired')).toEqual([0]);
    expect(at(b, 'lockAcquired')).toEqual([]);
    await enqueue(b, 'b1'); // B does not hold the lock: nothing sent (no wake port, no idle poll)
    await runUntil(scheduler, 1_000);
    expect(server.sent).toEqual([]);

    await runUntil(scheduler, 2_000);
    await a.engine.dispose();
    await runUntil(scheduler, 2_000);
    // At once: same virtual instant, no stale period.
    expect(at(b, 'lockAcquired')).toEqual([2_000]);
    expect(server.sent.map((s) => [s.tab, s.id, s.at])).toEqual([['B', 'b1', 2_000]]);
    expect(committed(b)).toEqual(['tx-b1']);
  });

  test('a closed (or reloaded) tab hands the lock over at once', async () => {
    const a = await openTab('A');
    const b = await openTab('B');
    a.engine.start();
    b.engine.start();
    await runUntil(scheduler, 500);
    await enqueue(b, 'b1');
    a.page.close(); // the tab goes away: no dispose, no release
    await runUntil(scheduler, 500);
    expect(at(b, 'lockAcquired')).toEqual([500]);
    expect(server.sent.map((s) => [s.tab, s.id])).toEqual([['B', 'b1']]);
  });

  test('a holder that lost the lock without noticing (frozen, resumed) is refused by the fence: no commit, no new send', async () => {
    const [a, b] = await aHoldsThenBStarts();
    server.hold('x1');
    await enqueue(a, 'x1');
    await enqueue(a, 'x2');
    await runUntil(scheduler, 200);
    expect(server.sent.map((s) => [s.tab, s.id])).toEqual([['A', 'x1']]);

    // A's page is frozen with x1 in flight; the browser lets its lock go
    // (here: the fake page closes, A's engine is not told); B takes over,
    // bumps the fence and sends both ops.
    await runUntil(scheduler, 300);
    a.page.close();
    await runUntil(scheduler, 300);
    expect(at(b, 'lockAcquired')).toEqual([300]);
    server.answer('x1'); // answers both x1 requests (A's and B's)
    await runUntil(scheduler, 400);
    expect(committed(b)).toEqual(['tx-x1', 'tx-x2']);

    // A resumes: its x1 answer arrives; the commit write is refused, the loss reported, x2 not sent by A.
    await runUntil(scheduler, 1_000);
    expect(server.sent.map((s) => [s.tab, s.id])).toEqual([
      ['A', 'x1'],
      ['B', 'x1'],
      ['B', 'x2'],
    ]);
    // Both x1 requests carry the same key: the server applies x1 once.
    expect(new Set(server.sent.filter((s) => s.id === 'x1').map((s) => s.key)).size).toBe(1);
    expect(committed(a)).toEqual([]);
    expect(at(a, 'lockLost').length).toBeGreaterThan(0);
    expect(await stores[0]!.counts()).toEqual({ pending: 0, failed: 0 });
  });

  test('a stale holder refused by the fence reports no attempt: no attemptStarted, nothing in flight, nothing sent', async () => {
    const [a, b] = await aHoldsThenBStarts();
    await runUntil(scheduler, 200);
    // A's lock goes without A being told (its page frozen, the browser let the lock go); B takes over and bumps the fence.
    a.page.close();
    await runUntil(scheduler, 200);
    expect(at(b, 'lockAcquired')).toEqual([200]);
    const inFlight: Array<string | undefined> = [];
    a.engine.status$.subscribe((s) => inFlight.push(s.inFlight));
    // A still believes it holds the lock: its drain takes the op, and the fence check before the attempt refuses it.
    await enqueue(a, 'y1');
    await runUntil(scheduler, 1_000);
    expect(at(a, 'lockLost')).toEqual([200]);
    expect(a.events.filter((e) => e.type === 'attemptStarted' || e.type === 'attemptFailed' || e.type === 'backoff')).toEqual([]);
    expect(inFlight.every((id) => id === undefined)).toBe(true);
    expect(server.sent).toEqual([]);
  });

  test('suspended (freeze, pagehide): the lock is given up at once and the other tab sends; resumed, the tab contends again', async () => {
    const [a, b] = await aHoldsThenBStarts();
    await enqueue(b, 'b1');
    await runUntil(scheduler, 200);
    a.suspended$.next(true);
    await runUntil(scheduler, 200);
    expect(at(b, 'lockAcquired')).toEqual([200]);
    expect(server.sent.map((s) => [s.tab, s.id])).toEqual([['B', 'b1']]);
    await runUntil(scheduler, 300);
    a.suspended$.next(false);
    await b.engine.dispose();
    await runUntil(scheduler, 300);
    expect(at(a, 'lockAcquired')).toEqual([0, 300]);
  });

  // 0 to 56 microtask turns: cuts before, inside and between the three commits (x1, x2, x3) of this store.
  test.each(Array.from({ length: 29 }, (_, i) => i * 2))(
    'a page discarded %i step(s) after the answer, its commit cut anywhere: the store stays consistent, the next holder finishes every op once',
    async (steps) => {
      const [a, b] = await aHoldsThenBStarts();
      server.hold('x1');
      for (const id of ['x1', 'x2', 'x3']) await enqueue(a, id);
      await runUntil(scheduler, 200);
      server.answer('x1');
      // One step: what is due now on the virtual clock (the lane's commit writes), then one microtask turn.
      for (let i = 0; i < steps; i += 1) {
        scheduler.maxFrames = scheduler.frame;
        scheduler.flush();
        await Promise.resolve();
      }
      a.discard();
      await runUntil(scheduler, 1_000);
      // Each op applied once (one key each, whoever sent it), committed once across both tabs.
      const keys = new Map<string, Set<string>>();
      for (const s of server.sent) keys.set(s.id, (keys.get(s.id) ?? new Set()).add(s.key));
      expect([...keys.entries()].map(([id, k]) => [id, k.size])).toEqual([
        ['x1', 1],
        ['x2', 1],
        ['x3', 1],
      ]);
      expect([...committed(a), ...committed(b)].sort()).toEqual(['tx-x1', 'tx-x2', 'tx-x3']);
      expect(await stores[1]!.counts()).toEqual({ pending: 0, failed: 0 });
    },
  );
});
