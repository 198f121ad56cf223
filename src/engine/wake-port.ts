import type { Observable } from 'rxjs';
import { broadcastChannelCtor, openHintChannel, type HintChannelConstructor } from './broadcast-hint-channel';

/**
 * A cheap cross-engine wake: engines on the same storage (tabs of one
 * origin) tell each other that the queue grew, so the lock holder reads it
 * at once instead of at its next `idlePollMs` read. A wake is only a hint —
 * it carries nothing, and a lost one costs at most one poll interval.
 */
export interface WakePort {
  /** Tell the other engines on this storage that ops were appended or retried here. */
  post(): void;
  /** Wakes posted by the other engines (never this port's own posts). Hot. */
  readonly wake$: Observable<unknown>;
  /** Release the channel; the engine calls it on `dispose()`. Idempotent. */
  close(): void;
}

/** The part of the WHATWG `BroadcastChannel` the wake port uses. */
export interface BroadcastChannelLike {
  postMessage(message: unknown): void;
  addEventListener(type: 'message', listener: () => void): void;
  removeEventListener(type: 'message', listener: () => void): void;
  close(): void;
}

/** A `BroadcastChannel` constructor (the platform's, or a test double). */
export type BroadcastChannelConstructor = new (name: string) => BroadcastChannelLike;

/** The message posted; receivers ignore its content. */
const WAKE = 1;

/**
 * A `WakePort` over a `BroadcastChannel` named `name` (use one name per
 * storage, e.g. `sync-engine:${storeName}`). A channel never delivers a
 * message to the instance that posted it, so an engine is not woken by its
 * own appends (its change feed already does that). The channel is opened on
 * first use and closed by `close()`.
 *
 * Returns `undefined` where the platform has no `BroadcastChannel` (pass
 * `BroadcastChannelCtor` to supply one). Browsers only deliver between
 * contexts of the same origin; Node's global `BroadcastChannel` only within
 * one process, so Node/Electron main processes rely on `idlePollMs`.
 *
 * @example
 * createSyncEngine({ ...options, wake: broadcastChannelWake('sync-engine:my-app') });
 */
export function broadcastChannelWake(name: string, BroadcastChannelCtor?: BroadcastChannelConstructor): WakePort | undefined {
  const Ctor = broadcastChannelCtor(BroadcastChannelCtor);
  if (Ctor === undefined) return undefined;
  // Every message on the channel is a wake: its content is never read, so a
  // channel whose listeners get no event (what `BroadcastChannelLike` allows) is enough.
  const channel = openHintChannel(name, Ctor as unknown as HintChannelConstructor, () => WAKE);
  return { post: () => void channel.post(WAKE), wake$: channel.messages$, close: channel.close };
}
