import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { CHROMIUM, CHROMIUM_ARGS } from './chromium';
import type { RemoteApi } from './page-helpers';

/**
 * Debian's chromium driven over the DevTools protocol directly, without
 * playwright: for what playwright's own page setup prevents. Playwright
 * turns on `Emulation.setFocusEmulationEnabled` for every page of a
 * headless browser, which keeps the page counted as captured — visible —
 * so `Page.setWebLifecycleState({ state: 'frozen' })` neither hides nor
 * freezes it (no `freeze` event, timers keep running; Chromium 156). Over
 * a plain DevTools connection (the browser's pipe) the page is hidden, gets its `freeze` event
 * and stops running until `{ state: 'active' }`. No jest in here.
 */

/** One tab, over its own DevTools connection. */
export interface RawTab {
  /** A DevTools command on this tab (`Page.*`, `Debugger.*`, `Runtime.*`). */
  send<T = Record<string, unknown>>(method: string, params?: Record<string, unknown>): Promise<T>;
  /** Uncaught exceptions of the page. */
  readonly errors: string[];
  close(): Promise<void>;
}

/** A chromium of its own (fresh profile on disk) and its tabs. */
export interface RawBrowser {
  /** A new tab at `url`, once its document has loaded. */
  newTab(url: string): Promise<RawTab>;
  close(): Promise<void>;
}

/** The browser's DevTools pipe (`--remote-debugging-pipe`: NUL-separated JSON on fds 3 and 4), commands by id, per session. */
class Pipe {
  #id = 0;
  #buffer = '';
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  readonly #listeners = new Map<string, (method: string, params: Record<string, unknown>) => void>();

  constructor(
    private readonly write: Writable,
    read: Readable,
  ) {
    read.on('data', (chunk: Buffer) => {
      this.#buffer += chunk.toString();
      let end: number;
      while ((end = this.#buffer.indexOf('\0')) >= 0) {
        const text = this.#buffer.slice(0, end);
        this.#buffer = this.#buffer.slice(end + 1);
        this.#receive(JSON.parse(text) as Message);
      }
    });
    read.on('close', () => {
      for (const p of this.#pending.values()) p.reject(new Error('DevTools pipe closed'));
      this.#pending.clear();
    });
  }

  /** Events of `sessionId` go to `listener`. */
  listen(sessionId: string, listener: (method: string, params: Record<string, unknown>) => void): void {
    this.#listeners.set(sessionId, listener);
  }

  send<T>(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<T> {
    const id = (this.#id += 1);
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.write.write(`${JSON.stringify({ id, method, params, ...(sessionId === undefined ? {} : { sessionId }) })}\0`);
    });
  }

  #receive(m: Message): void {
    if (m.id !== undefined) {
      const p = this.#pending.get(m.id);
      this.#pending.delete(m.id);
      if (m.error) p?.reject(new Error(m.error.message));
      else p?.resolve(m.result);
    } else if (m.method !== undefined && m.sessionId !== undefined) this.#listeners.get(m.sessionId)?.(m.method, m.params ?? {});
  }
}

interface Message {
  readonly id?: number;
  readonly result?: unknown;
  readonly error?: { readonly message: string };
  readonly method?: string;
  readonly params?: Record<string, unknown>;
  readonly sessionId?: string;
}

/** Launch chromium with its DevTools pipe (a fresh profile on disk) and `extraArgs`. */
export async function launchRawChromium(extraArgs: readonly string[] = []): Promise<RawBrowser> {
  const profile = mkdtempSync(join(tmpdir(), 'sync-engine-raw-chromium-'));
  const proc: ChildProcess = spawn(CHROMIUM, [...CHROMIUM_ARGS, ...extraArgs, '--remote-debugging-pipe', `--user-data-dir=${profile}`, 'about:blank'], {
    stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'pipe'],
    // Its own process group: close() ends the renderers with it.
    detached: true,
  });
  const browser = new Pipe(proc.stdio[3] as Writable, proc.stdio[4] as Readable);
  const tabs: RawTab[] = [];
  return {
    async newTab(url) {
      const { targetId } = await browser.send<{ targetId: string }>('Target.createTarget', { url: 'about:blank' });
      const { sessionId } = await browser.send<{ sessionId: string }>('Target.attachToTarget', { targetId, flatten: true });
      const errors: string[] = [];
      browser.listen(sessionId, (method, params) => {
        if (method === 'Runtime.exceptionThrown') {
          const d = params.exceptionDetails as { text?: string; exception?: { description?: string } };
          errors.push(d.exception?.description ?? d.text ?? 'exception');
        }
      });
      const tab: RawTab = {
        send: (method, params) => browser.send(method, params, sessionId),
        errors,
        close: () => browser.send('Target.closeTarget', { targetId }).then(() => undefined, () => undefined),
      };
      await tab.send('Runtime.enable');
      await tab.send('Page.navigate', { url });
      // Loaded: the entry's script ran.
      for (let i = 0; i < 400 && (await evaluate<string>(tab, 'document.readyState').catch(() => 'loading')) !== 'complete'; i += 1) {
        await new Promise((res) => setTimeout(res, 25));
      }
      tabs.push(tab);
      return tab;
    },
    async close() {
      for (const t of tabs) await t.close();
      await new Promise<void>((resolve) => {
        if (proc.exitCode !== null) resolve();
        else {
          proc.once('exit', () => resolve());
          process.kill(-proc.pid!, 'SIGKILL');
        }
      });
      for (const fd of [3, 4]) (proc.stdio[fd] as Readable | Writable | null)?.destroy();
      rmSync(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    },
  };
}

/** Evaluate `expression` in the tab (awaiting a Promise), its value as JSON. Throws what the page threw. */
export async function evaluate<T>(tab: RawTab, expression: string): Promise<T> {
  const r = await tab.send<{ result: { value?: unknown }; exceptionDetails?: { text?: string; exception?: { description?: string } } }>('Runtime.evaluate', {
    expression,
    awaitPromise: true,
    returnByValue: true,
  });
  if (r.exceptionDetails) throw new Error(r.exceptionDetails.exception?.description ?? r.exceptionDetails.text ?? 'evaluation failed');
  return r.result.value as T;
}

/**
 * The object the page's entry put on `globalThis[name]`, called from Node
 * over the raw connection (as `remoteApi` does through playwright).
 */
export function rawRemoteApi<A>(tab: RawTab, name: string): RemoteApi<A> {
  return new Proxy({} as RemoteApi<A>, {
    get:
      (_target, method) =>
      (...args: unknown[]) =>
        evaluate(tab, `globalThis[${JSON.stringify(name)}][${JSON.stringify(String(method))}](...${JSON.stringify(args)})`),
  });
}
