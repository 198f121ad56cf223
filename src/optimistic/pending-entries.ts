import { Observable, combineLatest, distinctUntilChanged, map, merge, of, shareReplay } from 'rxjs';
import { dequal } from 'dequal';
import type { EngineStatus } from '../engine/sync-engine';
import type { LayerMeta, Unsaved } from './optimistic-state';
import type { PendingEntry } from './optimistic-types';

/** The layers of the optimistic view, as last published. */
export interface PublishedLayers {
  readonly layers: readonly LayerMeta[];
  readonly unsaved: readonly Unsaved[];
}

/** The head layer's status comes from the engine; the others are queued. */
function entryOf(l: LayerMeta, head: boolean, status: EngineStatus | undefined): PendingEntry {
  const base = { opId: l.opId, txToken: l.txToken, type: l.type };
  if (head && status?.authRequired) return { ...base, status: 'authRequired' };
  if (head && status?.inFlight === l.opId) return { ...base, status: 'sending' };
  if (head && status?.nextAttemptAt !== undefined) return { ...base, status: 'retrying', nextAttemptAt: status.nextAttemptAt };
  return { ...base, status: 'queued' };
}

/**
 * `pending$` of the optimistic store: the durable layers in FIFO order (the
 * head with the engine's status), then the unsaved ones (`saving`). Emits
 * only on a change of content.
 *
 * @example
 * pendingEntries(layers$, engine.status$).subscribe(renderSavingBadges);
 */
export function pendingEntries(
  layers$: Observable<PublishedLayers>,
  engineStatus$: Observable<EngineStatus>,
): Observable<readonly PendingEntry[]> {
  const status$: Observable<EngineStatus | undefined> = merge(of(undefined), engineStatus$);
  return combineLatest([layers$, status$]).pipe(
    map(([{ layers, unsaved }, status]): readonly PendingEntry[] => [
      ...layers.map((l, i) => entryOf(l, i === 0, status)),
      ...unsaved.map((u): PendingEntry => ({ txToken: u.txToken, type: u.type, status: 'saving' })),
    ]),
    distinctUntilChanged<readonly PendingEntry[]>(dequal),
    shareReplay({ bufferSize: 1, refCount: true }),
  );
}
