import type { FailedOpView } from '../../../src/optimistic/watch-failed-ops';
import { el } from './dom';
import { labelOf } from './labels';

/** What the dead-letter list asks the engine to do. */
export interface DeadLetterActions {
  retry(id: string): void;
  discard(id: string): void;
}

/** The ops that could not be saved, each with the reason and the fixed user-facing message, and retry/discard. */
export function renderDeadLetters(
  root: HTMLElement,
  failed: readonly FailedOpView[],
  actions: DeadLetterActions,
  titleOf: (id: string) => string | undefined,
): void {
  const rows = failed.map((f) => {
    const what = f.op ? labelOf(f.op.type, f.op.payload, titleOf).text : 'unreadable record';
    const why = f.error?.status === undefined ? f.reason : `${f.reason}, ${f.error.status}${f.error.code ? ` ${f.error.code}` : ''}`;
    return el(
      'li',
      { 'data-failed-id': f.id, 'data-reason': f.reason },
      el('div', { class: 'dl-what' }, el('strong', {}, what), el('span', { class: 'dl-why' }, ` (${why})`)),
      el('div', { class: 'dl-message' }, f.message),
      el(
        'div',
        { class: 'dl-actions' },
        f.op ? el('button', { class: 'small', 'data-action': 'retry', onclick: () => actions.retry(f.id) }, 'Retry') : '',
        el('button', { class: 'small secondary', 'data-action': 'discard', onclick: () => actions.discard(f.id) }, 'Discard'),
      ),
    );
  });
  root.replaceChildren(...(rows.length > 0 ? rows : [el('li', { class: 'empty' }, 'None.')]));
}
