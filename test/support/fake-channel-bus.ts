import type { LivenessChannelConstructor, LivenessChannelLike } from '../../src/lock/holder-liveness';

/**
 * Same-origin `BroadcastChannel`s in memory: a post reaches every other
 * open channel of that name (never the poster), as a Promise callback
 * (asynchronously, like the platform's), a structured clone.
 *
 * @example
 * const bus = new FakeChannelBus();
 * createWebLock(meta, { livenessChannel: bus.Channel });
 */
export class FakeChannelBus {
  readonly #open = new Set<{ readonly name: string; readonly listeners: Set<(e: { data: unknown }) => void> }>();
  /** Every message posted, with its channel name. */
  readonly posted: Array<{ readonly name: string; readonly data: unknown }> = [];

  readonly Channel: LivenessChannelConstructor = (() => {
    const bus = this;
    return class implements LivenessChannelLike {
      readonly #self = { name: '', listeners: new Set<(e: { data: unknown }) => void>() };
      #closed = false;
      constructor(name: string) {
        this.#self = { name, listeners: new Set() };
        bus.#open.add(this.#self);
      }
      postMessage(message: unknown): void {
        if (this.#closed) throw new Error('InvalidStateError');
        bus.posted.push({ name: this.#self.name, data: message });
        const copy = structuredClone(message);
        for (const other of bus.#open) {
          if (other === this.#self || other.name !== this.#self.name) continue;
          void Promise.resolve().then(() => other.listeners.forEach((l) => l({ data: copy })));
        }
      }
      addEventListener(_type: 'message', listener: (e: { data: unknown }) => void): void {
        this.#self.listeners.add(listener);
      }
      removeEventListener(_type: 'message', listener: (e: { data: unknown }) => void): void {
        this.#self.listeners.delete(listener);
      }
      close(): void {
        this.#closed = true;
        bus.#open.delete(this.#self);
      }
    };
  })();

  /** Channels open now. */
  get openCount(): number {
    return this.#open.size;
  }
}
