import { mulberry32 } from '../src/testing/prng';
import type { ResourceName } from '../src/testing/reference-backend';

/** What the server is expected to do with an item (absent faults). */
export type Expectation = 'apply' | 'badRequest' | 'conflict';

/** One operation of the demo workload, before it is enqueued. */
export interface WorkItem {
  /** Position in the workload (0-based) = intended enqueue order. */
  readonly ref: number;
  readonly type: string;
  readonly payload: Record<string, unknown>;
  readonly resource: ResourceName;
  readonly entityId: string;
  readonly expect: Expectation;
}

export interface WorkloadOptions {
  readonly ops: number;
  readonly seed: number;
  /** Share of updates whose data the server rejects with 400. Default 0.01. */
  readonly badRequestRate?: number;
  /** Share of updates carrying a stale `ifVersion` (409). Default 0.01. */
  readonly conflictRate?: number;
}

/**
 * A deterministic mixed workload over todos and contacts: per entity a
 * create, then updates, sometimes a delete last; entity streams interleave
 * at random but keep their own order. A few updates pass the client's codec
 * but break a server rule (title > 200 chars → 400) or carry a stale
 * `ifVersion` (→ 409 version_conflict), so the dead-letter queue has
 * something real to show.
 */
export function buildWorkload(opts: WorkloadOptions): WorkItem[] {
  const random = mulberry32(opts.seed);
  const badRate = opts.badRequestRate ?? 0.01;
  const conflictRate = opts.conflictRate ?? 0.01;
  const items: WorkItem[] = [];
  interface Live {
    resource: ResourceName;
    id: string;
    updates: number;
    deleted: boolean;
  }
  const live: Live[] = [];
  let nextEntity = 0;
  const prefix = opts.seed.toString(36);
  while (items.length < opts.ops) {
    const ref = items.length;
    const createNew = live.length < 3 || random() < 0.25;
    if (createNew) {
      const resource: ResourceName = random() < 0.6 ? 'todos' : 'contacts';
      const id = `${resource === 'todos' ? 't' : 'c'}-${prefix}-${nextEntity++}`;
      live.push({ resource, id, updates: 0, deleted: false });
      const payload =
        resource === 'todos'
          ? { id, title: `todo ${id}` }
          : { id, name: `contact ${id}`, email: `${id}@example.org` };
      items.push({ ref, type: resource === 'todos' ? 'todo.create' : 'contact.create', payload, resource, entityId: id, expect: 'apply' });
      continue;
    }
    const idx = Math.floor(random() * live.length);
    const e = live[idx] as Live;
    const r = random();
    if (e.updates >= 2 && r < 0.1) {
      live.splice(idx, 1);
      items.push({
        ref,
        type: e.resource === 'todos' ? 'todo.delete' : 'contact.delete',
        payload: { id: e.id },
        resource: e.resource,
        entityId: e.id,
        expect: 'apply',
      });
      continue;
    }
    e.updates += 1;
    const r2 = random();
    let expect: Expectation = 'apply';
    let payload: Record<string, unknown>;
    if (e.resource === 'todos') {
      payload = { id: e.id, done: r2 < 0.5, title: `todo ${e.id} v${e.updates}` };
    } else {
      payload = { id: e.id, name: `contact ${e.id} v${e.updates}` };
    }
    if (r2 < badRate) {
      expect = 'badRequest';
      payload = e.resource === 'todos' ? { id: e.id, title: 'x'.repeat(201) } : { id: e.id, name: 'x'.repeat(101) };
    } else if (r2 < badRate + conflictRate) {
      expect = 'conflict';
      payload = { ...payload, ifVersion: 1_000_000 };
    }
    items.push({
      ref,
      type: e.resource === 'todos' ? 'todo.update' : 'contact.update',
      payload,
      resource: e.resource,
      entityId: e.id,
      expect,
    });
  }
  return items;
}
