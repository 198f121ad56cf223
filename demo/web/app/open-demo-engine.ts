import { BehaviorSubject, combineLatest, map, type Observable } from 'rxjs';
import { createSyncEngine } from '../../../src/create-sync-engine';
import { platformOnline$ } from '../../../src/engine/platform-signals';
import { broadcastChannelWake } from '../../../src/engine/wake-port';
import { createOptimisticStore } from '../../../src/optimistic/create-optimistic-store';
import { createOpStore } from '../../../src/store/create-op-store';
import { eventSourceWake } from '../../../src/wake/event-source-wake';
import { demoRoutes } from '../../routes';
import type { Session } from './session';
import { applyTodo, commitTodo, type Todo } from './todos';

/** The IndexedDB store of the demo page (one per origin). */
export const DEMO_STORE_NAME = 'sync-engine-web-demo';

function createDemoEngine(store: Awaited<ReturnType<typeof createOpStore>>, session: Session, tabOnline$: BehaviorSubject<boolean>) {
  return createSyncEngine({
    baseUrl: location.origin,
    routes: demoRoutes,
    store,
    auth: { getToken: session.getToken, refreshToken: session.refreshToken },
    // The browser's online/offline events, and the page's own switch.
    online$: combineLatest([platformOnline$(), tabOnline$]).pipe(map(([browser, tab]) => browser && tab)),
    // Waits short enough to watch (the defaults are 1 s base, 2 min cap).
    backoff: { baseMs: 500, capMs: 8000 },
    requestTimeoutMs: 8000,
    // Another tab of the demo wakes this one at once; the server announces its return on /events.
    wake: broadcastChannelWake(`sync-engine:${DEMO_STORE_NAME}`),
    serverWake: eventSourceWake(`${location.origin}/events`),
  });
}

/**
 * Open the demo's store, engine and optimistic list. `confirmed$` is the
 * server's list (the last one seen, then the one read at load); the engine
 * is not started here: the page starts it once it has signed in and read
 * the server's list, so no commit can race that read. `tabOnline$` is the
 * page's own "offline" switch (the browser's online state still counts).
 *
 * @example
 * const app = await openDemoApp(session, confirmed$);
 * app.engine.start();
 */
export async function openDemoApp(session: Session, confirmed$: Observable<readonly Todo[]>) {
  const store = await createOpStore({ name: DEMO_STORE_NAME });
  const tabOnline$ = new BehaviorSubject(true);
  const engine = createDemoEngine(store, session, tabOnline$);
  const todos = createOptimisticStore(engine, { initial: confirmed$, apply: applyTodo, commit: commitTodo });
  return { engine, todos, tabOnline$ };
}

/** What `openDemoApp` resolves with. */
export type OpenDemoApp = Awaited<ReturnType<typeof openDemoApp>>;
