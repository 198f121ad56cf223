/**
 * The browser demo's page: a todo list on the sync engine (IndexedDB queue,
 * optimistic view), its status, its queue and dead letters, and switches
 * that make the reference backend misbehave. Plain DOM and RxJS.
 */
import { BehaviorSubject, combineLatest, defer, firstValueFrom, from, interval, map, retry, startWith, switchMap, timer } from 'rxjs';
import type { PayloadOf, RoutesOf } from '../../../src/router/route-types';
import type { demoRoutes } from '../../routes';
import { watchFailedOps } from '../../../src/optimistic/watch-failed-ops';
import { ActivityLog } from './activity-log';
import { renderDeadLetters } from './dead-letters';
import { byId } from './dom';
import { OpLabels } from './labels';
import { openDemoApp, type OpenDemoApp } from './open-demo-engine';
import { renderPendingList } from './pending-list';
import { fetchServerTruth, renderServerPanel } from './server-panel';
import { Session } from './session';
import { renderStatusBar } from './status-bar';
import { wireSwitches } from './switches';
import { TodoList } from './todo-list';
import type { Todo } from './todos';

type Routes = RoutesOf<typeof demoRoutes>;
type TodoOp = 'todo.create' | 'todo.update' | 'todo.delete';

const LAST_LIST_KEY = 'sync-engine-web-demo:last-confirmed';

/** The server's list, read once with the session's token (tried again every second while it cannot be read). */
function serverList$(session: Session) {
  return defer(async () => {
    const res = await fetch('/todos', { headers: { authorization: `Bearer ${session.getToken()}` } });
    if (!res.ok) throw new Error(`GET /todos ${res.status}`);
    return ((await res.json()) as { data: Todo[] }).data;
  }).pipe(retry({ delay: () => timer(1000) }));
}

function newId(): string {
  return `t-${crypto.randomUUID().slice(0, 8)}`;
}

function wireEngineLog(app: OpenDemoApp, labels: OpLabels, log: ActivityLog): void {
  const what = (tx: string, type: string) => labels.get(tx)?.text ?? type;
  app.engine.results$.subscribe((r) => {
    if (r.outcome === 'committed') log.add(`saved: ${what(r.txToken, r.type)}`, 'ok');
    else log.add(`${r.outcome}: ${what(r.txToken, r.type)} — ${r.message ?? ''}`, 'bad');
  });
  app.engine.events$.subscribe((e) => {
    if (e.type === 'backoff') log.add(`waiting ${(e.delayMs / 1000).toFixed(1)} s before retrying ${what(e.op.txToken, e.op.type)}${e.retryAfter ? ' (server’s Retry-After)' : ''}`, 'warn');
    if (e.type === 'attemptFailed') log.add(`attempt failed: ${what(e.op.txToken, e.op.type)} (${e.error.status ?? e.error.kind}${e.error.code ? ` ${e.error.code}` : ''})`, 'warn');
    if (e.type === 'tokenRefreshed') log.add('token refreshed', 'ok');
    if (e.type === 'authRequired') log.add('the server refused the token and the refresh: sign in again', 'bad');
    if (e.type === 'lockAcquired') log.add(`this tab sends (processor lock, fencing token ${e.fencingToken})`);
    if (e.type === 'lockLost') log.add('another tab sends now', 'warn');
  });
}

async function main(): Promise<void> {
  const log = new ActivityLog(byId('log'));
  const labels = new OpLabels();
  const config = (await (await fetch('/demo/config')).json()) as { refreshCredential: string };
  const session = new Session(config.refreshCredential);
  const cached = JSON.parse(localStorage.getItem(LAST_LIST_KEY) ?? '[]') as Todo[];
  // The last list seen at once; the server's once signed in (read before the engine starts: no commit races it).
  const confirmed$ = new BehaviorSubject<readonly Todo[]>(cached);
  const app = await openDemoApp(session, confirmed$);
  app.engine.pendingOps().subscribe((op) => labels.setFromOp(op));
  app.engine.events$.subscribe((e) => {
    if (e.type === 'enqueued') labels.setFromOp(e.op);
  });
  app.todos.confirmed$.subscribe((list) => {
    labels.learnTitles(list);
    localStorage.setItem(LAST_LIST_KEY, JSON.stringify(list));
  });
  app.todos.rollbacks$.subscribe((r) => log.add(`undone on your list: ${labels.get(r.txToken)?.text ?? r.txToken} — ${r.message}`, 'bad'));
  wireEngineLog(app, labels, log);

  const mutate = <K extends TodoOp>(type: K, payload: PayloadOf<Routes[K]>): void => {
    const { txToken } = app.todos.mutate(type, payload);
    labels.set(txToken, type, payload);
  };
  const list = new TodoList(byId('todos'), {
    toggle: (t) => mutate('todo.update', { id: t.id, done: !t.done }),
    rename: (t, title) => mutate('todo.update', { id: t.id, title }),
    remove: (t) => mutate('todo.delete', { id: t.id }),
  });
  const form = byId<HTMLFormElement>('new-form');
  const input = byId<HTMLInputElement>('new-title');
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const title = input.value.trim();
    if (title.length === 0) return;
    mutate('todo.create', { id: newId(), title });
    input.value = '';
  });

  const tick$ = interval(500).pipe(startWith(0), map(() => Date.now()));
  let latest: readonly Todo[] = [];
  combineLatest([app.todos.state$, app.todos.pending$]).subscribe(([todos, pending]) => {
    latest = todos;
    labels.learnTitles(todos);
    list.render(todos, pending, labels);
  });
  combineLatest([app.engine.status$, app.todos.pending$, tick$]).subscribe(([status, pending, now]) => {
    renderStatusBar(byId('statusbar'), status, pending, labels, now);
    renderPendingList(byId('pending'), pending, labels, now);
    byId('sign-in').hidden = !status.authRequired;
  });
  watchFailedOps(app.engine).subscribe((failed) =>
    renderDeadLetters(byId('failed'), failed, {
      retry: (id) => void app.engine.failedOps.retry(id),
      discard: (id) => void app.engine.failedOps.discard(id),
    }, labels.titleOf),
  );
  byId('retry-all').addEventListener('click', () => void app.engine.failedOps.retryAll());
  byId('discard-all').addEventListener('click', () => void app.engine.failedOps.discardAll());
  byId('sign-in').addEventListener('click', () => {
    void session.refreshToken().then(
      () => app.engine.resumeAuth(),
      () => log.add('sign-in refused: turn “refresh refused” off first', 'bad'),
    );
  });
  interval(1000)
    .pipe(
      startWith(0),
      switchMap(() => from(fetchServerTruth())),
    )
    .subscribe((truth) => renderServerPanel(byId('server'), truth, latest));
  await wireSwitches(app.tabOnline$, log.add);
  document.body.dataset.ready = 'true'; // every control is wired (the e2e test waits for it)

  await session.signIn();
  confirmed$.next(await firstValueFrom(serverList$(session)));
  app.engine.start();
  log.add('signed in; the engine is started');
  (globalThis as { demo?: unknown }).demo = app; // for the curious, in DevTools
}

main().catch((err: unknown) => {
  byId('fatal').textContent = `The demo could not start: ${err instanceof Error ? err.message : String(err)}`;
});
