import type { ServerTruth } from '../server-truth';
import { el } from './dom';
import type { Todo } from './todos';

/** Fetch what the server holds (`GET /demo/server`, which works while the backend is "down"). */
export async function fetchServerTruth(): Promise<ServerTruth> {
  return (await (await fetch('/demo/server')).json()) as ServerTruth;
}

const same = (a: readonly Todo[], b: readonly Todo[]): boolean =>
  a.length === b.length && a.every((t, i) => t.id === b[i]?.id && t.title === b[i]?.title && t.done === b[i]?.done);

/** The server's side: its todos, the effects it applied, keys applied twice, and whether your list matches it. */
export function renderServerPanel(root: HTMLElement, truth: ServerTruth, mine: readonly Todo[]): void {
  const match = same(truth.todos, mine);
  root.replaceChildren(
    el(
      'p',
      { class: 'server-summary', 'data-effects': truth.effects, 'data-doubled': truth.doubled },
      `${truth.todos.length} todos · ${truth.effects} writes applied (${truth.byAction.create} add, ${truth.byAction.update} edit, ${truth.byAction.delete} delete) · `,
      el('span', { class: truth.doubled === 0 ? 'good' : 'bad' }, `${truth.doubled} applied twice`),
    ),
    el('p', { class: `match ${match ? 'good' : 'busy'}`, 'data-match': String(match) }, match ? '✓ your list matches the server' : '… your list has changes the server does not have yet'),
    el('ul', { class: 'server-todos' }, ...truth.todos.map((t) => el('li', { 'data-id': t.id, class: t.done ? 'done' : '' }, `${t.done ? '☑' : '☐'} ${t.title}`))),
  );
}
