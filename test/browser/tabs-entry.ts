/**
 * Bundled by esbuild for the two-tab browser test: a whole engine per tab
 * (IndexedDB store with the shared device key, storage lock, BroadcastChannel
 * wake) against the test server of the page's own origin.
 */
import { createSyncEngine } from '../../src/create-sync-engine';
import { broadcastChannelWake } from '../../src/engine/wake-port';
import { createOpStore } from '../../src/store/create-op-store';
import { todoCreateRoutes as routes } from './entry-fixtures';

type Engine = ReturnType<typeof createSyncEngine>;
interface TabEvent {
  readonly type: string;
  readonly at: number;
  readonly id?: string;
}

let engine: Engine | undefined;
const events: TabEvent[] = [];

const tabTest = {
  async open(opts: { readonly name: string; readonly idlePollMs: number; readonly wake: boolean }): Promise<void> {
    const store = await createOpStore({ name: opts.name });
    const wake = opts.wake ? broadcastChannelWake(`sync-engine:${opts.name}`) : undefined;
    if (opts.wake && wake === undefined) throw new Error('no BroadcastChannel');
    engine = createSyncEngine({
      baseUrl: location.origin,
      routes,
      store,
      auth: { getToken: async () => 'test-token', refreshToken: async () => 'test-token' },
      idlePollMs: opts.idlePollMs,
      wake,
      rateLimit: false,
    });
    engine.events$.subscribe((e) => {
      if (e.type === 'lockAcquired' || e.type === 'lockLost') events.push({ type: e.type, at: Date.now() });
      if (e.type === 'attemptStarted' || e.type === 'completed') {
        events.push({ type: e.type, at: Date.now(), id: (e.op.payload as { id: string }).id });
      }
    });
    engine.start();
  },
  async enqueue(ids: readonly string[]): Promise<number> {
    for (const id of ids) await engine!.enqueue({ type: 'todo.create', payload: { id, title: `todo ${id}` } });
    return Date.now();
  },
  events: (): readonly TabEvent[] => events,
  async close(): Promise<void> {
    await engine?.dispose();
  },
};

(globalThis as unknown as { tabTest: typeof tabTest }).tabTest = tabTest;
