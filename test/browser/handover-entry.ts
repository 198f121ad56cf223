/**
 * Bundled by esbuild for the handover tests and bench: a whole engine per
 * page with the defaults a web app gets (IndexedDB store with the device
 * key, the Web Locks processor lock, the page's own platform signals),
 * sending to the test server of the page's origin. Each request says which
 * page load sent it (`X-Tab`), so the server can tell senders apart.
 */
import { createSyncEngine } from '../../src/create-sync-engine';
import { createOpStore } from '../../src/store/create-op-store';
import { todoCreateRoutes as routes } from './entry-fixtures';

type Engine = ReturnType<typeof createSyncEngine>;
interface PageEvent {
  readonly type: string;
  /** `Date.now()`: comparable with the test's own clock (same machine). */
  readonly at: number;
  readonly id?: string;
  /** `lockAcquired` only: taken over from a holder that went stale (not handed over). */
  readonly takeover?: boolean;
}

let engine: Engine | undefined;
const events: PageEvent[] = [];
/** `performance.now()` when `start()` was called, and at the first request. */
const marks: { started?: number; firstSend?: number } = {};

const handover = {
  async open(opts: { readonly name: string; readonly tab: string }): Promise<number> {
    const store = await createOpStore({ name: opts.name });
    engine = createSyncEngine({
      baseUrl: location.origin,
      routes,
      store,
      auth: { getToken: async () => 'test-token', refreshToken: async () => 'test-token' },
      requestHeaders: { 'X-Tab': opts.tab },
      rateLimit: false,
    });
    engine.events$.subscribe((e) => {
      if (e.type === 'attemptStarted' && marks.firstSend === undefined) marks.firstSend = performance.now();
      if (e.type === 'lockAcquired') events.push({ type: e.type, at: Date.now(), takeover: e.takeover });
      if (e.type === 'lockLost') events.push({ type: e.type, at: Date.now() });
      if (e.type === 'attemptStarted' || e.type === 'completed') events.push({ type: e.type, at: Date.now(), id: (e.op.payload as { id: string }).id });
    });
    marks.started = performance.now();
    engine.start();
    return Date.now();
  },
  async enqueue(ids: readonly string[]): Promise<void> {
    for (const id of ids) await engine!.enqueue({ type: 'todo.create', payload: { id, title: `todo ${id}` } });
  },
  /** ms from `start()` to the first request of this page (undefined: none yet). */
  startToFirstSend: (): number | undefined => (marks.firstSend === undefined ? undefined : marks.firstSend - marks.started!),
  events: (): readonly PageEvent[] => events,
  async close(): Promise<void> {
    await engine?.dispose();
  },
};

(globalThis as unknown as { handover: typeof handover }).handover = handover;
