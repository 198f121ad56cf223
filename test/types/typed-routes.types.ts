/**
 * Type tests, checked by `npm run typecheck` (tsc), never run: an engine is
 * typed by its route table. Each misuse is preceded by `@ts-expect-error`,
 * so tsc fails if it ever compiles; the rest must compile and `expectType`
 * pins the exact types.
 */
import * as t from 'io-ts';
import { EMPTY } from 'rxjs';
import {
  createOptimisticStore,
  createSyncEngine,
  defineRoutes,
  type OpResultOf,
  type OptimisticStore,
  type PayloadOf,
  type ResponseOf,
  type RoutesOf,
  type EngineCore,
  type SyncEngine,
} from '../../src';
import type { OpStore } from '../../src/store/op-store';
import { expectType, type Equal } from './expect-type';

const Todo = t.type({ id: t.string, title: t.string, done: t.boolean });
type Todo = t.TypeOf<typeof Todo>;
const NewTodo = t.type({ id: t.string, title: t.string });
type NewTodo = t.TypeOf<typeof NewTodo>;

const routes = defineRoutes({
  'todo.create': { method: 'POST', path: '/todos', payload: NewTodo, response: Todo },
  'todo.toggle': { method: 'PATCH', path: '/todos/:id', payload: t.type({ id: t.string }), response: t.type({ version: t.number }) },
});
type Routes = RoutesOf<typeof routes>;

declare const store: OpStore;
const engine = createSyncEngine({
  baseUrl: 'https://api.example.com',
  routes,
  store,
  auth: { getToken: async () => null, refreshToken: async () => "t" },
});

// createSyncEngine infers the table from defineRoutes.
expectType<Equal<typeof engine, SyncEngine<Routes>>>(true);
expectType<Equal<PayloadOf<Routes['todo.create']>, NewTodo>>(true);
expectType<Equal<ResponseOf<Routes['todo.toggle']>, { version: number }>>(true);

// ── enqueue: declared types only, with that route's payload ──────────────
void engine.enqueue({ type: 'todo.create', payload: { id: '1', title: 'Milk' } });
void engine.enqueue({ type: 'todo.toggle', payload: { id: '1' }, txToken: 'tx-1' });
// @ts-expect-error an undeclared type
void engine.enqueue({ type: 'no.such.type', payload: 42 });
// @ts-expect-error the payload of another route (todo.toggle has no title)
void engine.enqueue({ type: 'todo.create', payload: { id: '1' } });
// @ts-expect-error a field of the wrong type
void engine.enqueue({ type: 'todo.create', payload: { id: '1', title: 42 } });
// @ts-expect-error no payload
void engine.enqueue({ type: 'todo.toggle' });

// ── results$: a union discriminated by `type` ─────────────────────────────
engine.results$.subscribe((r) => {
  expectType<Equal<typeof r.type, 'todo.create' | 'todo.toggle'>>(true);
  if (r.type === 'todo.create') {
    expectType<Equal<typeof r.data, Todo | undefined>>(true);
  } else {
    expectType<Equal<typeof r.type, 'todo.toggle'>>(true);
    expectType<Equal<typeof r.data, { version: number } | undefined>>(true);
    // @ts-expect-error todo.toggle answers { version }, not a Todo
    void r.data?.title;
  }
  // @ts-expect-error not a declared type: the comparison cannot be true
  if (r.type === 'no.such.type') return;
});
expectType<Equal<OpResultOf<Routes>['type'], 'todo.create' | 'todo.toggle'>>(true);

// ── the optimistic store: mutate, apply and commit typed from the table ───
const todos = createOptimisticStore(engine, {
  initial: [] as readonly Todo[],
  apply: {
    'todo.create': (s, p) => {
      expectType<Equal<typeof p, NewTodo>>(true);
      return [...s, { ...p, done: false }];
    },
    'todo.toggle': (s, p) => s.map((x) => (x.id === p.id ? { ...x, done: !x.done } : x)),
  },
  commit: {
    'todo.create': (s, _p, data) => {
      expectType<Equal<typeof data, Todo | undefined>>(true);
      return data ? [...s, data] : s;
    },
  },
});
expectType<Equal<typeof todos, OptimisticStore<readonly Todo[], Routes>>>(true);
todos.mutate('todo.create', { id: '2', title: 'Bread' });
// @ts-expect-error an undeclared type
todos.mutate('no.such.type', 42);
// @ts-expect-error the wrong payload
todos.mutate('todo.toggle', { id: 2 });

createOptimisticStore(engine, {
  initial: [] as readonly Todo[],
  // @ts-expect-error apply for an undeclared type
  apply: { 'no.such.type': (s: readonly Todo[]) => s },
});
createOptimisticStore(engine, {
  initial: [] as readonly Todo[],
  // @ts-expect-error apply reads a field the payload does not have
  apply: { 'todo.toggle': (s, p) => [...s, { id: p.id, title: p.title, done: false }] },
});
createOptimisticStore(engine, {
  initial: [] as readonly Todo[],
  apply: {},
  // @ts-expect-error commit treats todo.toggle's { version } answer as a Todo
  commit: { 'todo.toggle': (s, _p, data: Todo | undefined) => (data ? [...s, data] : s) },
});

// ── untyped code keeps compiling ──────────────────────────────────────────
// A typed engine is assignable to the untyped SyncEngine (an InjectionToken<SyncEngine>, a helper taking any engine).
const untyped: SyncEngine = engine;
const core: EngineCore = engine; // what the optimistic store takes
const returned: ReturnType<typeof createSyncEngine> = engine;
void untyped.enqueue({ type: 'anything', payload: 42 }); // checked at run time only, as before
untyped.results$.subscribe((r) => {
  expectType<Equal<typeof r.type, string>>(true);
  expectType<Equal<typeof r.data, unknown>>(true);
});
const loose = createOptimisticStore(untyped, {
  initial: [] as readonly Todo[],
  apply: { 'todo.create': (s: readonly Todo[], p: NewTodo) => [...s, { ...p, done: false }] },
  commit: { 'todo.create': (s: readonly Todo[], _p: NewTodo, data: unknown) => [...s, data as Todo] },
});
loose.mutate('whatever', { any: 'payload' });
const looseStore: OptimisticStore<readonly Todo[]> = todos; // a typed store where an untyped one is expected
// Named by the table, e.g. for an Angular InjectionToken<SyncEngine<RoutesOf<typeof routes>>>.
const named: SyncEngine<RoutesOf<typeof routes>> = engine;
const byRoutesProperty: SyncEngine<typeof routes.routes> = engine;
void [core, returned, looseStore, named, byRoutesProperty, EMPTY];
