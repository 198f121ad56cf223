import { createServer as createHttpServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type ServerOptions } from 'node:https';
import type { AddressInfo } from 'node:net';

/** One request a `RecordingServer` received. */
export interface Received {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** A server on 127.0.0.1 that records every request and answers with `handle`. */
export interface RecordingServer {
  readonly origin: string;
  readonly port: number;
  readonly received: Received[];
  /** TLS handshakes clients failed, by error code. */
  readonly tlsErrors: string[];
  handle: (req: Received, res: ServerResponse) => void;
  close(): Promise<void>;
}

const okJson = (_req: Received, res: ServerResponse): void => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ data: { id: 'from-this-server' } }));
};

/**
 * Start an HTTP (or, with `tls`, HTTPS) server on 127.0.0.1 that records
 * each request (method, URL, headers, body) before answering it with
 * `handle` (default: `200 { data }`).
 *
 * @example
 * const server = await startRecordingServer();
 * server.handle = (_req, res) => res.writeHead(307, { location: '/x' }).end();
 */
export async function startRecordingServer(tls?: ServerOptions, host = '127.0.0.1'): Promise<RecordingServer> {
  const state = { received: [] as Received[], tlsErrors: [] as string[], handle: okJson };
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      const rec: Received = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
      state.received.push(rec);
      state.handle(rec, res);
    });
  };
  const server = tls ? createHttpsServer(tls, listener) : createHttpServer(listener);
  server.on('tlsClientError', (err: Error & { code?: string }) => state.tlsErrors.push(err.code ?? 'unknown'));
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    origin: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  }) as RecordingServer;
}
