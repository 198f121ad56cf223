import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { startReferenceBackend, type ReferenceBackend } from '../../src/testing';
import { isApiPath, proxyTo } from './api-proxy';
import { bundlePage } from './bundle-page';
import { FaultSwitches } from './fault-switches';
import { serverTruth } from './server-truth';

/** A running web demo. */
export interface WebDemo {
  /** The page, e.g. `http://127.0.0.1:8080/`. */
  readonly url: string;
  readonly backend: ReferenceBackend;
  readonly switches: FaultSwitches;
  /** Stop the page server and the backend (open connections included). Idempotent. */
  close(): Promise<void>;
}

/** What the page needs to start: the credential its session exchanges at `POST /auth/token`. */
export interface PageConfig {
  readonly refreshCredential: string;
}

const json = (res: ServerResponse, status: number, body: unknown): void => {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }).end(JSON.stringify(body));
};

function readJson(req: IncomingMessage): Promise<Readonly<Record<string, unknown>>> {
  return new Promise((resolve) => {
    let text = '';
    req.on('data', (c: Buffer) => {
      if (text.length < 4096) text += c.toString('utf8');
    });
    req.on('end', () => {
      try {
        const v: unknown = JSON.parse(text);
        resolve(typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {});
      } catch {
        resolve({});
      }
    });
  });
}

/**
 * `npm run demo:web`: the todo page (bundled from the package's sources),
 * the reference backend behind a same-origin proxy, and the page's
 * controls:
 * - `GET /demo/config`: what the page's session needs;
 * - `GET|POST /demo/switches`: backend down, 429 storm, conflicts, refresh refused;
 * - `POST /demo/expire-token`: every token issued so far becomes invalid;
 * - `GET /demo/server`: the server's todos and effect counts (`serverTruth`).
 * Binds to 127.0.0.1 only.
 *
 * @example
 * const demo = await startWebDemo({ port: 0 });
 * console.log(demo.url);
 * await demo.close();
 */
export async function startWebDemo(options: { readonly port?: number } = {}): Promise<WebDemo> {
  const [js, html, backend] = await Promise.all([
    bundlePage(join(__dirname, 'app', 'main.ts'), { sourcemap: true }),
    Promise.resolve(readFileSync(join(__dirname, 'index.html'), 'utf8')),
    startReferenceBackend({ tokenTtlMs: 5 * 60_000 }),
  ]);
  const switches = new FaultSwitches(backend);
  const config: PageConfig = { refreshCredential: backend.refreshCredential };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    if (isApiPath(req.url)) {
      if (path === '/auth/token' && switches.state.refuseRefresh) {
        return json(res, 401, { error: { code: 'invalid_credential', message: 'invalid refresh credential' } });
      }
      return proxyTo(backend.url, req, res);
    }
    if (req.method === 'GET' && (path === '/' || path === '/index.html')) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(html);
    } else if (req.method === 'GET' && path === '/app.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' }).end(js);
    } else if (req.method === 'GET' && path === '/demo/config') {
      json(res, 200, config);
    } else if (path === '/demo/switches') {
      json(res, 200, req.method === 'POST' ? switches.set(await readJson(req)) : switches.state);
    } else if (req.method === 'POST' && path === '/demo/expire-token') {
      switches.expireToken();
      json(res, 200, {});
    } else if (req.method === 'GET' && path === '/demo/server') {
      json(res, 200, serverTruth(backend));
    } else {
      json(res, 404, { error: { code: 'not_found', message: 'no such page' } });
    }
  };

  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => json(res, 500, { error: { code: 'internal', message: 'internal error' } }));
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
    });
  } catch (err) {
    await backend.close();
    throw err;
  }
  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    backend,
    switches,
    close: () => {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const s of sockets) s.destroy();
        await Promise.all([closed, backend.close()]);
      })();
      return closing;
    },
  };
}
