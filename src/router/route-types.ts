import type { OpRouter, RouteCodec, RouteDef } from './op-router';

/**
 * A route table as `defineRoutes` takes it: op type → {@link RouteDef}.
 * The engine, `enqueue`, `results$` and the optimistic store are typed by
 * the table the app defined; this wide default (any string type, any
 * payload) is what they fall back to when no table is known.
 *
 * @example
 * const routes = defineRoutes({ 'todo.create': { method: 'POST', path: '/todos', payload: NewTodo, response: Todo } });
 * type Table = RoutesOf<typeof routes>; // { 'todo.create': … }, a RouteTable
 */
export type RouteTable = Record<string, RouteDef<any, any, any>>;

/**
 * The route table of a router from `defineRoutes`, to name a typed engine
 * (`SyncEngine<RoutesOf<typeof routes>>`, e.g. for an Angular InjectionToken).
 *
 * @example
 * const routes = defineRoutes({ ... });
 * export const SYNC_ENGINE = new InjectionToken<SyncEngine<RoutesOf<typeof routes>>>('SYNC_ENGINE');
 */
export type RoutesOf<O> = O extends OpRouter<infer R> ? R : never;

/**
 * The op types a table declares (`keyof R` as strings).
 *
 * @example
 * type T = OpTypeOf<RoutesOf<typeof routes>>; // 'todo.create' | 'todo.toggle'
 */
export type OpTypeOf<R extends RouteTable> = keyof R & string;

/**
 * The app payload of a route: what its `payload` codec decodes to, as
 * `enqueue` and `mutate` take it. `any` for an untyped engine (`D` = `any`),
 * so an untyped `apply` may still annotate its payload.
 *
 * @example
 * type P = PayloadOf<RoutesOf<typeof routes>['todo.create']>; // { id: string; title: string }
 */
export type PayloadOf<D> = 0 extends 1 & D ? any : D extends { readonly payload: RouteCodec<infer P> } ? P : never;

/**
 * The decoded `data` of a route's successful response: what its `response`
 * codec decodes to, as a committed `results$` entry carries it.
 *
 * @example
 * type D = ResponseOf<RoutesOf<typeof routes>['todo.create']>; // Todo
 */
export type ResponseOf<D> = D extends { readonly response: RouteCodec<infer A> } ? UnknownIfAny<A> : unknown;

/** `any` (the wide default table's response) becomes `unknown`: data is checked before use. */
type UnknownIfAny<A> = 0 extends 1 & A ? unknown : A;
