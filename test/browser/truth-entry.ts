/**
 * Bundled by esbuild for the "every tab tells the truth" browser test and
 * bench: a whole engine per tab on one IndexedDB store, with the defaults a
 * web app gets (storage lock, the cross-tab `BroadcastChannel` named after
 * the store and its wake), and an optimistic view of the todos.
 */
import * as t from 'io-ts';
import { createSyncEngine } from '../../src/create-sync-engine';
import { createOptimisticStore } from '../../src/optimistic/create-optimistic-store';
import { defineRoutes } from '../../src/router/op-router';
import { createOpStore } from '../../src/store/create-op-store';

const routes = defineRoutes({
  'todo.create': {
    method: 'POST',
    path: '/todos',
    payload: t.type({ id: t.string, title: t.string }),
    response: t.type({ id: t.string }),
  },
});

interface TabEvent {
  readonly type: string;
  readonly at: number;
  readonly id?: string;
}
interface TabResult {
  readonly txToken: string;
  readonly outcome: string;
  readonly data?: unknown;
}

let engine: ReturnType<typeof createSyncEngine> | undefined;
let dispose: (() => void) | undefined;
const events: TabEvent[] = [];
const results: TabResult[] = [];
let state: string[] = [];
let confirmed: string[] = [];
let pending: string[] = [];
const enqueuedAt: Record<string, number> = {};

const tabTest = {
  async open(opts: { readonly name: string; readonly idlePollMs: number }): Promise<void> {
    const store = await createOpStore({ name: opts.name });
    const e = createSyncEngine({
      baseUrl: location.origin,
      routes,
      store,
      auth: { getToken: async () => 'test-token', refreshToken: async () => 'test-token' },
      idlePollMs: opts.idlePollMs,
      rateLimit: false,
    });
    engine = e;
    e.events$.subscribe((ev) => {
      if (ev.type === 'lockAcquired' || ev.type === 'lockLost' || ev.type === 'lockReleased') events.push({ type: ev.type, at: Date.now() });
      if (ev.type === 'attemptStarted') events.push({ type: ev.type, at: Date.now(), id: (ev.op.payload as { id: string }).id });
    });
    e.results$.subscribe((r) => results.push({ txToken: r.txToken, outcome: r.outcome, ...(r.data === undefined ? {} : { data: r.data }) }));
    const view = createOptimisticStore(e, {
      initial: [] as string[],
      apply: { 'todo.create': (s, p) => [...s, p.id] },
      commit: { 'todo.create': (s, p, data) => [...s, `${data?.id ?? p.id}✓`] },
    });
    view.state$.subscribe((s) => (state = s));
    view.confirmed$.subscribe((s) => (confirmed = s));
    view.pending$.subscribe((p) => (pending = p.map((x) => x.txToken)));
    dispose = () => view.dispose();
    e.start();
  },
  /** Enqueue each id (txToken `tx-<id>`); the wall-clock time of each call is kept. */
  async enqueue(ids: readonly string[]): Promise<void> {
    for (const id of ids) {
      enqueuedAt[id] = Date.now();
      await engine!.enqueue({ type: 'todo.create', payload: { id, title: `todo ${id}` }, txToken: `tx-${id}` });
    }
  },
  snapshot: () => ({ events, results, state, confirmed, pending, enqueuedAt }),
  async close(): Promise<void> {
    dispose?.();
    await engine?.dispose();
  },
};

export type TruthTabApi = typeof tabTest;
(globalThis as unknown as { tabTest: typeof tabTest }).tabTest = tabTest;
