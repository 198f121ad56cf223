/** A fake `EventSource`/`WebSocket`: the test fires its events by hand; every instance is recorded with its open and close times. */
export class FakeChannel {
  static instances: FakeChannel[] = [];
  static now: () => number = () => 0;
  readonly #listeners = new Map<string, Array<(event: { data: unknown }) => void>>();
  readonly openedAt = FakeChannel.now();
  closedAt?: number;

  constructor(readonly url: string) {
    FakeChannel.instances.push(this);
  }

  addEventListener(type: string, listener: (event: { data: unknown }) => void): void {
    this.#listeners.set(type, [...(this.#listeners.get(type) ?? []), listener]);
  }

  close(): void {
    this.closedAt ??= FakeChannel.now();
  }

  /** Fire `type` (e.g. `open`, `ready`, `message`, `error`) with `data`. */
  fire(type: string, data?: unknown): void {
    for (const l of this.#listeners.get(type) ?? []) l({ data });
  }

  static reset(now: () => number): void {
    FakeChannel.instances = [];
    FakeChannel.now = now;
  }

  static get last(): FakeChannel {
    return FakeChannel.instances[FakeChannel.instances.length - 1] as FakeChannel;
  }
}
