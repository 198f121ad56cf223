import type { HintChannelConstructor, HintChannelLike } from '../../src/engine/broadcast-hint-channel';

/** One channel a port made, as the test sees it. */
export interface FakeChannelRecord {
  readonly name: string;
  readonly posted: unknown[];
  /** Listeners attached now. */
  listeners: number;
  closed: boolean;
  /** Make `postMessage` throw, as for a value that cannot be cloned. */
  throwOnPost: boolean;
  /** Make `postMessage` throw for the messages this says cannot be cloned. */
  refuse?: (message: unknown) => boolean;
  /** Deliver a message event carrying `data` to the channel's listeners. */
  fire(data?: unknown): void;
}

/**
 * A test double of the platform's `BroadcastChannel` constructor that
 * records every channel made (`made`): what was posted, its listeners, and
 * whether it was closed. Posting to a closed channel throws, as the
 * platform's does.
 *
 * @example
 * const { Ctor, made } = fakeBroadcastChannels();
 * const port = broadcastChannelWake('app', Ctor)!;
 */
export function fakeBroadcastChannels(): { Ctor: HintChannelConstructor; made: FakeChannelRecord[] } {
  const made: FakeChannelRecord[] = [];
  class Fake implements HintChannelLike {
    readonly #rec: FakeChannelRecord;
    readonly #listeners = new Set<(e: { data: unknown }) => void>();
    constructor(name: string) {
      this.#rec = { name, posted: [], listeners: 0, closed: false, throwOnPost: false, fire: (data) => this.#listeners.forEach((l) => l({ data })) };
      made.push(this.#rec);
    }
    postMessage(message: unknown): void {
      if (this.#rec.closed || this.#rec.throwOnPost || this.#rec.refuse?.(message) === true) throw new Error('DataCloneError');
      this.#rec.posted.push(message);
    }
    addEventListener(_type: 'message', listener: (e: { data: unknown }) => void): void {
      this.#listeners.add(listener);
      this.#rec.listeners = this.#listeners.size;
    }
    removeEventListener(_type: 'message', listener: (e: { data: unknown }) => void): void {
      this.#listeners.delete(listener);
      this.#rec.listeners = this.#listeners.size;
    }
    close(): void {
      this.#rec.closed = true;
    }
  }
  return { Ctor: Fake, made };
}

/** Run `fn` with no global `BroadcastChannel` (restored after). */
export function withoutGlobalBroadcastChannel<T>(fn: () => T): T {
  const g = globalThis as { BroadcastChannel?: unknown };
  const saved = g.BroadcastChannel;
  delete g.BroadcastChannel;
  try {
    return fn();
  } finally {
    if (saved !== undefined) g.BroadcastChannel = saved;
  }
}
