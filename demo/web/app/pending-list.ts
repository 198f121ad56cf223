import type { PendingEntry } from '../../../src/optimistic/create-optimistic-store';
import { el, fromNow, short } from './dom';
import type { OpLabels } from './labels';

const STATUS_TEXT: Readonly<Record<PendingEntry['status'], string>> = {
  saving: 'saving to this device',
  queued: 'queued',
  sending: 'sending',
  retrying: 'waiting to retry',
  authRequired: 'waiting for sign-in',
};

/** Each pending op, in the order it will be sent, with its state (the head's from the engine). */
export function renderPendingList(root: HTMLElement, pending: readonly PendingEntry[], labels: OpLabels, now: number): void {
  const rows = pending.map((p) => {
    const when = p.status === 'retrying' && p.nextAttemptAt !== undefined ? ` ${fromNow(p.nextAttemptAt, now)}` : '';
    return el(
      'li',
      { 'data-status': p.status, 'data-op-id': p.opId ?? '' },
      el('span', { class: `badge ${p.status}` }, `${STATUS_TEXT[p.status]}${when}`),
      el('span', { class: 'op-text' }, labels.get(p.txToken)?.text ?? p.type),
      el('code', { class: 'op-id', title: p.opId ?? 'not stored yet' }, p.opId ? short(p.opId) : '…'),
    );
  });
  root.replaceChildren(...(rows.length > 0 ? rows : [el('li', { class: 'empty' }, 'Nothing waiting: every change is on the server.')]));
}
