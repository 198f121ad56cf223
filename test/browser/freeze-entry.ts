/**
 * Bundled by esbuild for the "really frozen page" Chromium test: a whole
 * engine per tab with the defaults a web app gets (IndexedDB store, Web
 * Locks processor lock fenced in the store, the cross-tab channel, the
 * page's own lifecycle signals), against the reference backend on the
 * page's own origin, plus an optimistic view. Each request says which tab
 * sent it (`X-Tab`) and under which fencing token (`X-Fence`: the token of
 * this engine's last `lockAcquired`), so the server can tell a stale
 * holder's request from a current one. Times are `Date.now()`, comparable
 * with the test's own clock.
 */
import * as t from 'io-ts';
import { createSyncEngine } from '../../src/create-sync-engine';
import { createOptimisticStore } from '../../src/optimistic/create-optimistic-store';
import { defineRoutes } from '../../src/router/op-router';
import { createOpStore } from '../../src/store/create-op-store';

const routes = defineRoutes({
  'todo.create': { method: 'POST', path: '/todos', payload: t.type({ id: t.string, title: t.string }), response: t.type({ id: t.string }) },
});

/** One engine event, as the test reads it. */
export interface FreezeEvent {
  readonly type: string;
  readonly at: number;
  readonly id?: string;
  readonly fence?: number;
}
/** One `results$` entry. */
export interface FreezeResult {
  readonly id: string;
  readonly outcome: string;
  readonly hasData: boolean;
  readonly at: number;
}
/** A settlement or rescheduling write this engine made to the store (after its fence check passed), and when. */
export interface StoreWrite {
  readonly method: string;
  readonly at: number;
}
/** An op the optimistic view showed as `sending`, and when. */
export interface ShownSending {
  readonly id: string;
  readonly at: number;
}

let engine: ReturnType<typeof createSyncEngine> | undefined;
let dispose: (() => void) | undefined;
let fence = 0;
const events: FreezeEvent[] = [];
const results: FreezeResult[] = [];
const sending: ShownSending[] = [];
const writes: StoreWrite[] = [];
const WRITES = new Set(['complete', 'fail', 'update', 'rewrite']);

/** Store calls not settled yet: a page stopped while one is open keeps its IndexedDB transaction open. */
const open = new Map<string, number>();

/**
 * `store`, each settlement write recorded as the fenced engine makes it
 * (only a passing fence check reaches the store), and its calls in flight
 * counted (`open`).
 */
function recordingWrites<T extends object>(store: T): T {
  return new Proxy(store, {
    get: (target, p) => {
      const v: unknown = Reflect.get(target, p, target);
      if (typeof v !== 'function') return v;
      const f = v as (...a: unknown[]) => unknown;
      const name = String(p);
      return (...args: unknown[]) => {
        if (WRITES.has(name)) writes.push({ method: name, at: Date.now() });
        const r = f.apply(target, args);
        if (r instanceof Promise) {
          open.set(name, (open.get(name) ?? 0) + 1);
          const done = () => open.set(name, (open.get(name) ?? 1) - 1);
          r.then(done, done);
        }
        return r;
      };
    },
  });
}
let pending: string[] = [];
let state: string[] = [];
const idOf = (txToken: string): string => txToken.replace(/^tx-/, '');

const freeze = {
  async open(o: { readonly name: string; readonly tab: string; readonly token: string; readonly idlePollMs: number }): Promise<void> {
    const store = recordingWrites(await createOpStore({ name: o.name }));
    const e = createSyncEngine({
      baseUrl: location.origin,
      routes,
      store,
      auth: { getToken: () => o.token, refreshToken: async () => o.token },
      requestHeaders: () => ({ 'X-Tab': o.tab, 'X-Fence': String(fence) }),
      idlePollMs: o.idlePollMs,
      rateLimit: false,
    });
    engine = e;
    e.events$.subscribe((ev) => {
      const at = Date.now();
      if (ev.type === 'lockAcquired') {
        fence = ev.fencingToken;
        events.push({ type: ev.type, at, fence: ev.fencingToken });
      }
      if (ev.type === 'lockLost' || ev.type === 'lockReleased') events.push({ type: ev.type, at });
      if (ev.type === 'attemptStarted' || ev.type === 'completed') events.push({ type: ev.type, at, id: (ev.op.payload as { id: string }).id, fence });
    });
    e.results$.subscribe((r) => results.push({ id: idOf(r.txToken), outcome: r.outcome, hasData: r.data !== undefined, at: Date.now() }));
    const view = createOptimisticStore(e, {
      initial: [] as string[],
      apply: { 'todo.create': (s, p) => [...s, p.id] },
      commit: { 'todo.create': (s, p) => [...s, `${p.id}✓`] },
    });
    view.state$.subscribe((s) => (state = s));
    view.pending$.subscribe((entries) => {
      pending = entries.map((x) => idOf(x.txToken));
      for (const x of entries) if (x.status === 'sending') sending.push({ id: idOf(x.txToken), at: Date.now() });
    });
    dispose = () => view.dispose();
    e.start();
  },
  async enqueue(ids: readonly string[]): Promise<void> {
    for (const id of ids) await engine!.enqueue({ type: 'todo.create', payload: { id, title: `todo ${id}` }, txToken: `tx-${id}` });
  },
  snapshot: () => ({ events, results, sending, pending, state, writes }),
  /** Store calls still open, by method. */
  openCalls: (): Record<string, number> => Object.fromEntries([...open].filter(([, n]) => n > 0)),
  async close(): Promise<void> {
    dispose?.();
    await engine?.dispose();
  },
};

export type FreezeTabApi = typeof freeze;
(globalThis as unknown as { freeze: typeof freeze }).freeze = freeze;
