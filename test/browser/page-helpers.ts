import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Browser, BrowserContext, Page } from 'playwright-core';

/**
 * What the Chromium tests and benches share around a page: real-time
 * waits, page errors, the page's test API called through `page.evaluate`,
 * and the fake `POST /todos` endpoint. Launching and serving stay in
 * `chromium.ts` / `chromium-page-server.ts`.
 */

/** Flags that keep every tab's timers (lock heartbeats) at full rate, in the background too. */
export const TAB_FLAGS = ['--disable-background-timer-throttling', '--disable-renderer-backgrounding', '--disable-backgrounding-occluded-windows'];

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Poll `cond` every `pollMs` until true; throw naming `what` after `timeoutMs` (a generous bound for "eventually", not a measurement). */
export async function waitUntil(cond: () => Promise<boolean> | boolean, timeoutMs: number, what: string, pollMs = 25): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(pollMs);
  }
}

/** Push every uncaught error of `pages` onto `errors` (a test expects it empty at the end). */
export function collectPageErrors(errors: string[], ...pages: readonly Page[]): string[] {
  for (const page of pages) page.on('pageerror', (e) => errors.push(e.message));
  return errors;
}

/** A new page in `owner` with its errors collected, at `url`. */
export async function openPageAt(owner: Browser | BrowserContext, url: string): Promise<{ page: Page; errors: string[] }> {
  const page = await owner.newPage();
  const errors = collectPageErrors([], page);
  await page.goto(url);
  return { page, errors };
}

/** The async methods of `A`, as called from Node. */
export type RemoteApi<A> = {
  readonly [K in keyof A]: A[K] extends (...args: infer P) => infer R ? (...args: P) => Promise<Awaited<R>> : never;
};

/**
 * The object the page's entry put on `globalThis[name]`, called from Node:
 * each method runs `globalThis[name][method](...args)` in the page.
 */
export function remoteApi<A>(page: Page, name: string): RemoteApi<A> {
  const call = (method: string, args: unknown[]) =>
    page.evaluate(
      ([n, m, a]) => (globalThis as unknown as Record<string, Record<string, (...x: unknown[]) => unknown>>)[n]![m]!(...a),
      [name, method, args] as const,
    );
  return new Proxy({} as RemoteApi<A>, {
    get: (_target, method) => (...args: unknown[]) => call(String(method), args),
  });
}

/** How the fake endpoint answers one POST: `status` with `body` as JSON, after `delayMs` (none: at once). */
export interface TodoReply {
  readonly status: number;
  readonly body: unknown;
  readonly delayMs?: number;
}

/** A 201 with `{ data }`. */
export const created = (data: unknown, delayMs?: number): TodoReply => ({ status: 201, body: { data }, delayMs });

/**
 * A `servePage` handler for the tests' fake backend: each `POST /todos` is
 * handed to `onPost` with its parsed JSON body and answered as it says
 * (by default 201 with `{ data: body }`); anything else is left to the page
 * server. A delayed answer to a request the page gave up on is dropped.
 */
export function todosEndpoint(
  onPost: (body: { readonly id: string } & Record<string, unknown>, req: IncomingMessage, res: ServerResponse) => TodoReply | void,
) {
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    if (req.method !== 'POST' || req.url !== '/todos') return false;
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => {
      const body = JSON.parse(text) as { readonly id: string } & Record<string, unknown>;
      const reply = onPost(body, req, res) ?? created(body);
      const send = () => {
        if (res.destroyed) return;
        res.writeHead(reply.status, { 'content-type': 'application/json' }).end(JSON.stringify(reply.body));
      };
      if (reply.delayMs !== undefined && reply.delayMs > 0) setTimeout(send, reply.delayMs);
      else send();
    });
    return true;
  };
}
