/**
 * A small todo app on sync-engine: an engine on a SQLite store, an
 * optimistic store over it, and the reference backend standing in for the
 * app's server. It shows the user's view at each step — instantly after a
 * change, after the server confirmed it, after a refusal rolled one back —
 * and that the view is rebuilt from the durable queue after a restart.
 *
 *   npx ts-node --transpile-only examples/todo-cli.ts
 */
import * as t from 'io-ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { filter, firstValueFrom, of } from 'rxjs';
import { createOptimisticStore, createSyncEngine, defineRoutes, type OptimisticStore, type SyncEngine } from '../src';
import { createSqliteOpStore } from '../src/node';
import { startReferenceBackend, type ReferenceBackend } from '../src/testing';

interface Todo {
  readonly id: string;
  readonly title: string;
  readonly done: boolean;
  /** Set by the server: present once the todo is confirmed. */
  readonly version?: number;
}
type Todos = readonly Todo[];

const TodoCodec = t.type({ id: t.string, title: t.string, done: t.boolean, version: t.number });
const routes = defineRoutes({
  'todo.create': { method: 'POST', path: '/todos', payload: t.type({ id: t.string, title: t.string }), response: TodoCodec },
  'todo.toggle': {
    method: 'PATCH',
    path: '/todos/:id',
    payload: t.type({ id: t.string, done: t.boolean }),
    response: TodoCodec,
    toWire: ({ done }) => ({ done }),
  },
});

const upsert = (s: Todos, todo: Todo): Todos =>
  s.some((x) => x.id === todo.id) ? s.map((x) => (x.id === todo.id ? todo : x)) : [...s, todo];

/** The optimistic rules: how each pending op changes the list, and how the server's answer is folded in. */
function todoStore(engine: SyncEngine, confirmed: Todos): OptimisticStore<Todos> {
  return createOptimisticStore(engine, {
    initial: confirmed,
    apply: {
      'todo.create': (s: Todos, p: { id: string; title: string }) => upsert(s, { ...p, done: false }),
      'todo.toggle': (s: Todos, p: { id: string; done: boolean }) => s.map((x) => (x.id === p.id ? { ...x, done: p.done } : x)),
    },
    commit: {
      'todo.create': (s: Todos, _p: unknown, data: unknown) => upsert(s, data as Todo),
      'todo.toggle': (s: Todos, _p: unknown, data: unknown) => upsert(s, data as Todo),
    },
  });
}

const render = (todos: Todos): string =>
  todos.map((x) => `[${x.done ? 'x' : ' '}] ${x.title}${x.version === undefined ? ' (saving…)' : ''}`).join('\n') || '(empty)';

async function openEngine(dbPath: string, backend: ReferenceBackend): Promise<SyncEngine> {
  return createSyncEngine({
    baseUrl: backend.url,
    routes,
    store: await createSqliteOpStore(dbPath),
    auth: { getToken: async () => backend.issueToken(), refreshToken: async () => backend.issueToken() },
    online$: of(true),
  });
}

/** Runs the story and returns what a user would have seen, step by step. */
export async function runTodoCli(log: (line: string) => void = console.log): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'todo-cli-'));
  const backend = await startReferenceBackend();
  try {
    const dbPath = join(dir, 'todos.sqlite');

    // 1. Offline-first: changes show at once and survive a restart before any sync.
    let engine = await openEngine(dbPath, backend);
    let todos = todoStore(engine, []);
    todos.mutate('todo.create', { id: 'milk', title: 'Buy milk' });
    await todos.mutate('todo.create', { id: 'bread', title: 'Bake bread' }).persisted;
    log(`## Right after the changes (nothing sent yet)\n${render(await firstValueFrom(todos.state$))}`);
    todos.dispose();
    await engine.dispose();

    engine = await openEngine(dbPath, backend);
    todos = todoStore(engine, []);
    log(`## After a restart: rebuilt from the durable queue\n${render(await firstValueFrom(todos.state$))}`);

    // 2. Sync: the server's answers replace the optimistic guesses.
    engine.start();
    await firstValueFrom(todos.pending$.pipe(filter((p) => p.length === 0)));
    log(`## After sync: confirmed by the server\n${render(await firstValueFrom(todos.state$))}`);

    // 3. A refusal rolls the change back with a message the user can read.
    const rollback = firstValueFrom(todos.rollbacks$);
    todos.mutate('todo.toggle', { id: 'milk', done: true });
    todos.mutate('todo.create', { id: 'bad id!', title: 'Refused by the server' });
    log(`## Optimistic: toggled and added\n${render(await firstValueFrom(todos.state$))}`);
    const { message } = await rollback;
    await firstValueFrom(todos.pending$.pipe(filter((p) => p.length === 0)));
    log(`## The server refused one change: "${message}"\n${render(await firstValueFrom(todos.state$))}`);
    const failed = await engine.failedOps.list();
    log(`## In the dead-letter queue: ${failed.length} (${failed.map((f) => `${f.reason} ${f.error?.status}`).join(', ')})`);

    todos.dispose();
    await engine.dispose();
  } finally {
    await backend.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  runTodoCli().catch((err: unknown) => {
    console.error(err instanceof Error ? err.name : 'error');
    process.exit(1);
  });
}
