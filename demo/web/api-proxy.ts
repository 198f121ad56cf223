import { request, type IncomingMessage, type ServerResponse } from 'node:http';

/** The reference backend's paths the page talks to (everything else is the demo server's own). */
const API_PATH = /^\/(?:todos|contacts)(?:\/|$|\?)|^\/auth\/token(?:$|\?)|^\/events(?:$|\?)/;

/** True when `url` is one of the reference backend's routes. */
export const isApiPath = (url: string | undefined): boolean => API_PATH.test(url ?? '');

/**
 * Forward one request to the reference backend at `target` (loopback) and
 * stream the answer back, so the page reaches the API on its own origin (no
 * CORS). A connection the backend resets (`faults.down`, `reset`) is reset
 * here too: the browser sees the same network error it would see without
 * the proxy. Server-Sent Events stream through unchanged.
 *
 * @example
 * createServer((req, res) => (isApiPath(req.url) ? proxyTo(backend.url, req, res) : serveStatic(req, res)));
 */
export function proxyTo(target: string, req: IncomingMessage, res: ServerResponse): void {
  const base = new URL(target);
  const { host: _host, connection: _connection, ...headers } = req.headers;
  const upstream = request(
    { host: base.hostname, port: base.port, method: req.method, path: req.url, headers },
    (answer: IncomingMessage) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
      answer.on('error', () => res.destroy());
    },
  );
  upstream.on('error', () => {
    // Reset by the backend (down, reset fault) or closed under us: pass the reset on.
    req.socket.destroy();
  });
  res.on('close', () => upstream.destroy());
  req.pipe(upstream);
}
