import type { PayloadOf, ResponseOf, RouteTable } from '../router/route-types';
import type { OpResult } from './sync-engine';

/**
 * What `enqueue` takes for op type `K` of table `R`: that route's payload.
 * Untyped (`R` = `any`, `RouteTable`): any string type, any payload
 * (checked at run time by the route's codec, as always).
 *
 * @example
 * const input: EnqueueInputOf<RoutesOf<typeof routes>, 'todo.create'> = { type: 'todo.create', payload: { id: '1', title: 'Milk' } };
 */
export interface EnqueueInputOf<R extends RouteTable, K extends keyof R & string> {
  readonly type: K;
  readonly payload: PayloadOf<R[K]>;
  /** Correlates the op with an optimistic layer; generated when absent. */
  readonly txToken?: string;
}

/**
 * One `results$` entry of op type `K`: `data` is the route's decoded
 * response (present on `committed`, except for an op found already
 * committed in the idempotency ledger after a crash).
 *
 * @example
 * const r: OpResultFor<'todo.create', Todo> = { opId, txToken, type: 'todo.create', outcome: 'committed', data: todo };
 */
export interface OpResultFor<K extends string, D> extends Omit<OpResult, 'type' | 'data'> {
  readonly type: K;
  /** The decoded `data` of the server's answer, for `committed`. */
  readonly data?: D;
}

/**
 * `results$` of an engine typed by route table `R`: a union discriminated by
 * `type`, so `if (r.type === 'todo.create')` narrows `r.data` to that
 * route's response type. Untyped (`R` = `any`, `RouteTable`): {@link OpResult}'s
 * shape (`type: string`, `data: unknown`).
 *
 * @example
 * engine.results$.subscribe((r) => {
 *   if (r.type === 'todo.create' && r.outcome === 'committed') addToCache(r.data); // Todo | undefined
 * });
 */
export type OpResultOf<R extends RouteTable> = { [K in keyof R & string]: OpResultFor<K, ResponseOf<R[K]>> }[keyof R & string];
