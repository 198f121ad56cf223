import type { EngineStatus } from '../../../src/engine/sync-engine';
import type { PendingEntry } from '../../../src/optimistic/create-optimistic-store';
import { el, fromNow } from './dom';
import type { OpLabels } from './labels';

/** One chip of the status bar: a name, a value, and a tone for its colour. */
interface Chip {
  readonly key: string;
  readonly label: string;
  readonly value: string;
  readonly tone: 'ok' | 'busy' | 'warn' | 'bad' | 'idle';
}

/** Why sending is paused, in words (offline and sign-in have chips of their own). */
const PAUSED_BECAUSE: Readonly<Record<string, string>> = {
  lockNotHeld: 'another tab sends, or its lock is going stale',
  stopped: 'starting',
  signedOut: 'signed out',
  powerSaving: 'power saving',
  hidden: 'page hidden',
};

/** The chips for one status (pure, so the bar is what the status says). */
export function statusChips(s: EngineStatus, pending: readonly PendingEntry[], labels: OpLabels, now: number): readonly Chip[] {
  const sending = pending.find((p) => p.status === 'sending');
  const inFlight = s.inFlight === undefined ? 'none' : (labels.get(sending?.txToken ?? '')?.text ?? sending?.type ?? '1 op');
  const blocked = s.blockedBy.filter((b) => b !== 'offline' && b !== 'authRequired');
  return [
    { key: 'online', label: 'Network', value: s.online ? 'online' : 'offline', tone: s.online ? 'ok' : 'bad' },
    { key: 'pending', label: 'Pending', value: String(s.pending), tone: s.pending > 0 ? 'busy' : 'idle' },
    { key: 'inflight', label: 'In flight', value: inFlight, tone: s.inFlight === undefined ? 'idle' : 'busy' },
    {
      key: 'retry',
      label: 'Next retry',
      value: s.nextAttemptAt === undefined ? '—' : `${fromNow(s.nextAttemptAt, now)}${s.lastError ? ` (${s.lastError.status ?? s.lastError.kind})` : ''}`,
      tone: s.nextAttemptAt === undefined ? 'idle' : 'warn',
    },
    { key: 'auth', label: 'Auth', value: s.authRequired ? 'sign-in needed' : 'signed in', tone: s.authRequired ? 'bad' : 'ok' },
    { key: 'failed', label: 'Failed', value: String(s.failed), tone: s.failed > 0 ? 'bad' : 'idle' },
    {
      key: 'synced',
      label: 'Sync',
      value: s.synced ? 'all synced' : blocked.length > 0 ? `paused: ${blocked.map((b) => PAUSED_BECAUSE[b] ?? b).join(', ')}` : 'syncing…',
      tone: s.synced ? 'ok' : blocked.length > 0 ? 'warn' : 'busy',
    },
  ];
}

/** Render the chips into the bar (`data-*` attributes carry the raw values for tests and styles). */
export function renderStatusBar(root: HTMLElement, s: EngineStatus, pending: readonly PendingEntry[], labels: OpLabels, now: number): void {
  root.dataset.synced = String(s.synced);
  root.dataset.online = String(s.online);
  root.dataset.pending = String(s.pending);
  root.dataset.failed = String(s.failed);
  root.dataset.authRequired = String(s.authRequired);
  root.replaceChildren(
    ...statusChips(s, pending, labels, now).map((c) =>
      el('div', { class: `chip ${c.tone}`, 'data-chip': c.key }, el('span', { class: 'chip-label' }, c.label), el('span', { class: 'chip-value' }, c.value)),
    ),
  );
}
