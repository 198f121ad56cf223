import type { PendingOp } from '../../../src/op/pending-op';

/** What a pending op is about, for people: the todo's id and, when the op carries one, its title. */
export interface OpLabel {
  readonly todoId: string;
  readonly text: string;
}

/**
 * The label of an op from its payload (the demo's ops all carry the todo's
 * `id`); `titleOf` names the todo when the payload has no title (a tick, a
 * delete).
 */
export function labelOf(type: string, payload: unknown, titleOf: (id: string) => string | undefined = () => undefined): OpLabel {
  const p = (payload ?? {}) as { id?: unknown; title?: unknown; done?: unknown };
  const todoId = typeof p.id === 'string' ? p.id : '?';
  const verb = type === 'todo.create' ? 'add' : type === 'todo.delete' ? 'delete' : typeof p.done === 'boolean' ? (p.done ? 'tick' : 'untick') : 'rename to';
  const title = typeof p.title === 'string' ? p.title : titleOf(todoId);
  return { todoId, text: title === undefined ? verb : `${verb} “${title}”` };
}

/**
 * Labels by `txToken`: filled by the page's own `mutate` calls and, after a
 * reload, from the queue itself (`engine.pendingOps()`), so `pending$`
 * entries (which carry no payload) can say what they are about.
 */
export class OpLabels {
  readonly #byTx = new Map<string, OpLabel>();
  readonly #titles = new Map<string, string>();

  /** Remember the todos' titles (from the list), to name ops whose payload has none. */
  learnTitles(todos: readonly { readonly id: string; readonly title: string }[]): void {
    for (const t of todos) this.#titles.set(t.id, t.title);
  }

  readonly titleOf = (id: string): string | undefined => this.#titles.get(id);

  set(txToken: string, type: string, payload: unknown): void {
    this.#byTx.set(txToken, labelOf(type, payload, this.titleOf));
  }

  setFromOp(op: PendingOp): void {
    this.set(op.txToken, op.type, op.payload);
  }

  get(txToken: string): OpLabel | undefined {
    return this.#byTx.get(txToken);
  }
}
