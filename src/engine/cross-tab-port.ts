import { NEVER, filter, mergeAll, type Observable } from 'rxjs';
import type { ErrorInfo } from '../errors/sync-error';
import type { OpId } from '../op/pending-op';
import type { StoreChange } from '../store/op-store';
import type { OpResult } from './sync-engine';
import type { WakePort } from './wake-port';
import type { SendingMessage } from './cross-tab-sending';
import { broadcastChannelCtor, openHintChannel, type HintChannelConstructor, type HintChannelLike } from './broadcast-hint-channel';

/**
 * What engines on one store tell each other (same origin only: payloads,
 * decoded response data and error infos travel in it, never tokens; it is
 * never logged):
 * - `change`: a change on the poster's own store feed (an append, a
 *   commit's removal, a dead-letter write…), as its store emitted it;
 * - `result`: a `results$` entry the poster emitted (the lock holder's
 *   outcomes; a cancel's);
 * - `cancel` / `cancelReply`: `cancel(opId)` forwarded to the lock holder
 *   and its answer (`error` absent: cancelled);
 * - `sending`: the holder's attempt of an op started or ended (said again
 *   while it lasts), so every tab shows it in flight.
 */
export type CrossTabMessage =
  | { readonly kind: 'change'; readonly change: StoreChange }
  | SendingMessage
  | { readonly kind: 'result'; readonly result: OpResult }
  | { readonly kind: 'cancel'; readonly requestId: string; readonly opId: OpId }
  | { readonly kind: 'cancelReply'; readonly requestId: string; readonly error?: CancelRefusal };

/** Why the holder refused a forwarded cancel: the `reason` of its `ValidationError` or `StorageError`. */
export interface CancelRefusal {
  readonly name: 'ValidationError' | 'StorageError';
  readonly reason: string;
  readonly info?: ErrorInfo;
}

/**
 * The channel between the engines on one store: every engine posts its own
 * store changes and results, and hears everyone else's. A hint channel:
 * a message may be lost (a frozen tab, a channel that is not there) — the
 * engine recovers from the store itself (`docs/pipeline.md`, "Every tab
 * tells the truth").
 *
 * @example
 * createSyncEngine({ ...options, crossTab: broadcastChannelCrossTab('sync-engine:tabs:my-app') });
 */
export interface CrossTabPort {
  /** Deliver `message` to every other engine on the store (never back to this port). Never throws. */
  post(message: CrossTabMessage): void;
  /** Messages of the other engines. Hot. */
  readonly messages$: Observable<CrossTabMessage>;
  /**
   * False for a port that carries nothing (`pollOnlyCrossTab`, Node
   * processes on one SQLite file): the engine then learns only from its
   * reads of the store.
   */
  readonly live: boolean;
  /** Release the channel; the engine calls it on `dispose()`. Idempotent. */
  close(): void;
}

/** The part of the WHATWG `BroadcastChannel` the cross-tab port uses. */
export type MessageChannelLike = HintChannelLike;

/** A `BroadcastChannel` constructor (the platform's, or a test double). */
export type MessageChannelConstructor = HintChannelConstructor;

/** Marks the engine's messages: anything else on the channel is ignored. */
const PROTOCOL = 'sync-engine/tabs/1';

const KINDS = new Set<string>(['change', 'result', 'cancel', 'cancelReply', 'sending']);

const isMessage = (body: unknown): body is CrossTabMessage =>
  typeof body === 'object' && body !== null && KINDS.has((body as { kind?: unknown }).kind as string);

/**
 * The messages inside `data` — one (`body`) or several posted together
 * (`bodies`) — or undefined when `data` is not ours.
 */
function unwrap(data: unknown): readonly CrossTabMessage[] | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const { protocol, body, bodies } = data as { protocol?: unknown; body?: unknown; bodies?: unknown };
  if (protocol !== PROTOCOL) return undefined;
  if (Array.isArray(bodies)) return bodies.filter(isMessage);
  return isMessage(body) ? [body] : undefined;
}

/**
 * A `CrossTabPort` over a `BroadcastChannel` named `name` — one name per
 * store; `createSyncEngine` uses `sync-engine:tabs:<store name>` by default
 * in browsers. Opened on first use, closed by `close()`. The messages
 * posted in one task go out together, as one channel message, at the end
 * of it (a microtask; `close()` sends what is left first): a drain
 * settling a group of commits tells the other tabs in one message, not
 * two per op. A message that cannot be cloned (response data with
 * functions) is dropped, alone: the store read that recovers lost messages
 * covers it. Returns `undefined` where there is no `BroadcastChannel`
 * (pass `BroadcastChannelCtor` to supply one).
 *
 * @example
 * const crossTab = broadcastChannelCrossTab('sync-engine:tabs:my-app');
 */
export function broadcastChannelCrossTab(name: string, BroadcastChannelCtor?: MessageChannelConstructor): CrossTabPort | undefined {
  const Ctor = broadcastChannelCtor(BroadcastChannelCtor);
  if (Ctor === undefined) return undefined;
  const channel = openHintChannel(name, Ctor, unwrap);
  let outbox: CrossTabMessage[] = [];
  const flush = (): void => {
    const bodies = outbox;
    outbox = [];
    if (bodies.length > 1 && channel.post({ protocol: PROTOCOL, bodies })) return;
    // One alone, or a batch that could not be cloned: each on its own, so only the bad one is lost.
    for (const body of bodies) channel.post({ protocol: PROTOCOL, body });
  };
  return {
    live: true,
    post: (body) => {
      if (outbox.push(body) === 1) queueMicrotask(flush);
    },
    messages$: channel.messages$.pipe(mergeAll()),
    close: () => {
      flush();
      channel.close();
    },
  };
}

/**
 * A `CrossTabPort` with no channel: for processes that share a store but
 * no message channel (Node or Electron processes on one SQLite file). The
 * engine then finds other processes' appends and outcomes by reading the
 * store every `idlePollMs` (outcomes from the ledger and `failed_ops`).
 *
 * @example
 * createSyncEngine({ ...options, store: await createSqliteOpStore('data/app.db'), crossTab: pollOnlyCrossTab() });
 */
export function pollOnlyCrossTab(): CrossTabPort {
  return { live: false, post: () => undefined, messages$: NEVER, close: () => undefined };
}

/**
 * The wake the cross-tab port gives for free: another engine's append or
 * retry (its `change` message) wakes this engine's drain. Posting is a
 * no-op — every engine already posts its changes on the port.
 *
 * @example
 * const wake = crossTabWake(crossTab); // createSyncEngine's default `wake` in browsers
 */
export function crossTabWake(port: CrossTabPort): WakePort {
  return {
    post: () => undefined,
    wake$: port.messages$.pipe(filter((m) => m.kind === 'change' && (m.change.type === 'appended' || m.change.type === 'retried'))),
    close: () => undefined,
  };
}

/**
 * Browsers (a window or a worker): where the cross-tab channel is on by default.
 *
 * @example
 * const crossTab = isBrowser() ? broadcastChannelCrossTab(`sync-engine:tabs:${name}`) : undefined;
 */
export function isBrowser(): boolean {
  const g = globalThis as { document?: unknown; WorkerGlobalScope?: unknown };
  return g.document !== undefined || g.WorkerGlobalScope !== undefined;
}
