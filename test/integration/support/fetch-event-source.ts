/**
 * A minimal `EventSource` for Node 20 (which has none), reading the SSE
 * stream with the global `fetch`: fires `open`, each named event that has a
 * `data` field, and `error` when the stream fails or ends. No reconnect of
 * its own (`eventSourceWake` reconnects). Test-only.
 */
export class FetchEventSource {
  readonly #listeners = new Map<string, Array<() => void>>();
  readonly #abort = new AbortController();
  #closed = false;

  constructor(url: string) {
    void this.#run(url);
  }

  addEventListener(type: string, listener: () => void): void {
    this.#listeners.set(type, [...(this.#listeners.get(type) ?? []), listener]);
  }

  close(): void {
    this.#closed = true;
    this.#abort.abort();
  }

  #fire(type: string): void {
    if (this.#closed) return;
    for (const l of this.#listeners.get(type) ?? []) l();
  }

  async #run(url: string): Promise<void> {
    try {
      const res = await fetch(url, { headers: { Accept: 'text/event-stream' }, signal: this.#abort.signal });
      if (res.status !== 200 || res.body === null) throw new Error(`status ${res.status}`);
      this.#fire('open');
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let buffer = '';
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const lines = buffer.slice(0, end).split('\n');
          buffer = buffer.slice(end + 2);
          const name = lines.find((l) => l.startsWith('event:'))?.slice(6).trim() ?? 'message';
          if (lines.some((l) => l.startsWith('data:'))) this.#fire(name);
        }
      }
      throw new Error('stream ended');
    } catch {
      this.#fire('error');
    }
  }
}
