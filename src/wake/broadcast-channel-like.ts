/**
 * The part of the WHATWG `BroadcastChannel` the engine's channels use (the
 * cross-tab hints, the wake, the Web Lock's liveness probe): the platform's
 * own in browsers and Node ≥ 18, or a test double.
 *
 * @example
 * const Ctor: BroadcastChannelConstructor = BroadcastChannel;
 * const channel: BroadcastChannelLike = new Ctor('sync-engine:tabs:todos');
 */
export interface BroadcastChannelLike {
  postMessage(message: unknown): void;
  addEventListener(type: 'message', listener: (event: { readonly data: unknown }) => void): void;
  removeEventListener(type: 'message', listener: (event: { readonly data: unknown }) => void): void;
  close(): void;
}

/** A `BroadcastChannel` constructor (the platform's, or a test double). */
export type BroadcastChannelConstructor = new (name: string) => BroadcastChannelLike;
