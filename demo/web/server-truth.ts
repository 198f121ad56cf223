import type { AppliedEffect, ReferenceBackend, Todo } from '../../src/testing';

/** What the server holds and did, as the demo page's server panel and the e2e test read it. */
export interface ServerTruth {
  /** The todos that exist on the server, in the order they were created. */
  readonly todos: readonly Todo[];
  /** Applied effects (writes) in total, and per action. */
  readonly effects: number;
  readonly byAction: Readonly<Record<AppliedEffect['action'], number>>;
  /** Idempotency keys applied more than once (must stay 0). */
  readonly doubled: number;
}

/**
 * Read the reference backend's state and effect log: the todos in creation
 * order, how many effects were applied, and how many keys were applied
 * twice. Never touches the network, so it answers while the backend is
 * "down".
 *
 * @example
 * expect(serverTruth(backend).doubled).toBe(0);
 */
export function serverTruth(backend: ReferenceBackend): ServerTruth {
  const applied = backend.applied();
  const ids = [...new Set(applied.filter((e) => e.resource === 'todos' && e.action === 'create').map((e) => e.id))];
  const todos = ids.map((id) => backend.entity('todos', id)).filter((t): t is Todo => t !== undefined);
  const byAction = { create: 0, update: 0, delete: 0 };
  for (const e of applied) byAction[e.action] += 1;
  const doubled = [...backend.effectsByKey().values()].filter((n) => n > 1).length;
  return { todos, effects: applied.length, byAction, doubled };
}
