import { Observable, Subject, share } from 'rxjs';
import type { BroadcastChannelConstructor, BroadcastChannelLike } from '../wake/broadcast-channel-like';

/** The part of the WHATWG `BroadcastChannel` a hint channel uses. */
export type HintChannelLike = BroadcastChannelLike;

/** A `BroadcastChannel` constructor (the platform's, or a test double). */
export type HintChannelConstructor = BroadcastChannelConstructor;

/** A lazily opened `BroadcastChannel`: what the wake port and the cross-tab port share. */
export interface HintChannel<T> {
  /**
   * Post `data` to the other channels of that name. Never throws: a hint
   * that cannot be posted is dropped (false: it was).
   */
  post(data: unknown): boolean;
  /** The decoded messages of the other channels. Hot; completes on `close()`. */
  readonly messages$: Observable<T>;
  /** Remove the listener and close the channel. Idempotent. */
  close(): void;
}

/**
 * The platform's `BroadcastChannel`, or `Ctor` when one is given; undefined
 * where there is none.
 *
 * @example
 * const Ctor = broadcastChannelCtor(undefined); // globalThis.BroadcastChannel
 */
export function broadcastChannelCtor<C>(Ctor: C | undefined): C | undefined {
  return Ctor ?? (globalThis as unknown as { BroadcastChannel?: C }).BroadcastChannel;
}

/**
 * A `HintChannel` over a `BroadcastChannel` named `name`, opened on first
 * use (a post or a subscription) and never reopened after `close()`.
 * `decode` turns an event's `data` into a message, or undefined to ignore
 * it (another protocol on the same name). Posting swallows errors — a value
 * that cannot be cloned, a channel the platform closed: both ports are hint
 * channels, and the engine recovers a lost hint from the store.
 *
 * @example
 * const channel = openHintChannel('sync-engine:my-app', BroadcastChannel, () => true);
 * channel.messages$.subscribe(() => drainNow());
 */
export function openHintChannel<T>(
  name: string,
  Ctor: HintChannelConstructor,
  decode: (data: unknown) => T | undefined,
): HintChannel<T> {
  let channel: HintChannelLike | undefined;
  let closed = false;
  const inbox = new Subject<T>();
  const onMessage = (event: { readonly data: unknown }): void => {
    const message = decode(event?.data);
    if (message !== undefined) inbox.next(message);
  };
  const open = (): HintChannelLike | undefined => {
    if (closed) return undefined;
    if (channel === undefined) {
      channel = new Ctor(name);
      channel.addEventListener('message', onMessage);
    }
    return channel;
  };
  return {
    post: (data) => {
      try {
        const ch = open();
        ch?.postMessage(data);
        return ch !== undefined;
      } catch {
        // A hint: not cloneable, or closed by the platform — the store read recovers it.
        return false;
      }
    },
    messages$: new Observable<T>((subscriber) => {
      open();
      return inbox.subscribe(subscriber);
    }).pipe(share()),
    close: () => {
      if (closed) return;
      closed = true;
      if (channel !== undefined) {
        channel.removeEventListener('message', onMessage);
        channel.close();
        channel = undefined;
      }
      inbox.complete();
    },
  };
}
