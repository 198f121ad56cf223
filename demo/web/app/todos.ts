import type * as t from 'io-ts';
import type { Todo as TodoCodec } from '../../codecs';
import type { ApplyMap, CommitMap } from '../../../src/optimistic/create-optimistic-store';
import type { RoutesOf } from '../../../src/router/route-types';
import type { demoRoutes } from '../../routes';

/** A todo as the server keeps it. */
export type Todo = t.TypeOf<typeof TodoCodec>;
type Routes = RoutesOf<typeof demoRoutes>;

const upsert = (list: readonly Todo[], todo: Todo): readonly Todo[] =>
  list.some((t) => t.id === todo.id) ? list.map((t) => (t.id === todo.id ? todo : t)) : [...list, todo];

/** How a pending op changes the list (optimistic: version 0 until the server answers). */
export const applyTodo: ApplyMap<readonly Todo[], Routes> = {
  'todo.create': (s, p) => upsert(s, { id: p.id, title: p.title, done: p.done ?? false, version: 0 }),
  'todo.update': (s, p) =>
    s.map((t) => (t.id === p.id ? { ...t, ...(p.title === undefined ? {} : { title: p.title }), ...(p.done === undefined ? {} : { done: p.done }) } : t)),
  'todo.delete': (s, p) => s.filter((t) => t.id !== p.id),
};

/** How the server's answer folds into the confirmed list (its `data` is the todo as stored). */
export const commitTodo: CommitMap<readonly Todo[], Routes> = {
  'todo.create': (s, p, data) => (data ? upsert(s, data) : applyTodo['todo.create']!(s, p)),
  'todo.update': (s, p, data) => (data ? upsert(s, data) : applyTodo['todo.update']!(s, p)),
  'todo.delete': (s, p) => s.filter((t) => t.id !== p.id),
};
