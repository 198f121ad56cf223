import type { PendingEntry } from '../../../src/optimistic/create-optimistic-store';
import { el } from './dom';
import type { OpLabels } from './labels';
import type { Todo } from './todos';

/** What the list asks the app to do. */
export interface TodoActions {
  toggle(todo: Todo): void;
  rename(todo: Todo, title: string): void;
  remove(todo: Todo): void;
}

/**
 * The optimistic todo list: each row a checkbox (tick/untick), its title
 * (double-click to rename, Enter saves, Esc cancels) and a delete button;
 * a row with a change not yet confirmed by the server is marked "saving".
 */
export class TodoList {
  #editing: { readonly id: string; readonly input: HTMLInputElement } | undefined;

  constructor(
    private readonly root: HTMLElement,
    private readonly actions: TodoActions,
  ) {}

  render(todos: readonly Todo[], pending: readonly PendingEntry[], labels: OpLabels): void {
    const unsaved = new Set(pending.map((p) => labels.get(p.txToken)?.todoId));
    const rows = todos.map((todo) => this.#row(todo, unsaved.has(todo.id)));
    this.root.replaceChildren(...(rows.length > 0 ? rows : [el('li', { class: 'empty' }, 'Nothing to do. Add a todo above.')]));
  }

  #row(todo: Todo, saving: boolean): HTMLLIElement {
    const { actions } = this;
    const title =
      this.#editing?.id === todo.id
        ? this.#editing.input
        : el('span', { class: 'title', title: 'Double-click to rename', ondblclick: () => this.#edit(todo) }, todo.title);
    return el(
      'li',
      { 'data-id': todo.id, 'data-done': String(todo.done), class: todo.done ? 'done' : '' },
      el('input', { type: 'checkbox', checked: todo.done, 'aria-label': 'done', onchange: () => actions.toggle(todo) }),
      title,
      saving ? el('span', { class: 'badge saving' }, 'saving…') : '',
      el('button', { class: 'icon', title: 'Delete', 'aria-label': 'delete', onclick: () => actions.remove(todo) }, '✕'),
    );
  }

  #edit(todo: Todo): void {
    const input = el('input', { class: 'rename', value: todo.title, maxlength: 200 });
    const done = (save: boolean): void => {
      if (this.#editing?.input !== input) return;
      this.#editing = undefined;
      const title = input.value.trim();
      if (save && title.length > 0 && title !== todo.title) this.actions.rename(todo, title);
      else input.replaceWith(el('span', { class: 'title', ondblclick: () => this.#edit(todo) }, todo.title));
    };
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') done(true);
      if (e.key === 'Escape') done(false);
    });
    input.addEventListener('blur', () => done(true));
    this.#editing = { id: todo.id, input };
    this.root.querySelector(`li[data-id="${CSS.escape(todo.id)}"] .title`)?.replaceWith(input);
    input.focus();
    input.select();
  }
}
