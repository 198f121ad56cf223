/**
 * The todo app's operations, as `createSyncEngine({ routes: todoRoutes })`
 * takes them: they type the engine (`SyncEngine<TodoRoutes>`), so the
 * service's `mutate` and `results$` are checked against them. The paths and
 * shapes are the reference backend's (`sync-engine/testing`).
 *
 * @example
 * const engine = createSyncEngine({ baseUrl, routes: todoRoutes, store, auth });
 * await engine.enqueue({ type: 'todo.create', payload: { id: 'a1', title: 'Milk' } });
 */
import * as t from 'io-ts';
import { defineRoutes, type RoutesOf } from '../../src';

/** A todo as the server returns it (`version` counts the server's changes). */
export const TodoCodec = t.type({ id: t.string, title: t.string, done: t.boolean, version: t.number });

export const todoRoutes = defineRoutes({
  'todo.create': { method: 'POST', path: '/todos', payload: t.type({ id: t.string, title: t.string }), response: TodoCodec },
  'todo.toggle': {
    method: 'PATCH',
    path: '/todos/:id',
    payload: t.type({ id: t.string, done: t.boolean }),
    response: TodoCodec,
    toWire: ({ done }) => ({ done }),
  },
});

/** The route table that types the app's engine. */
export type TodoRoutes = RoutesOf<typeof todoRoutes>;
