import { Agent as HttpAgent, type ClientRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, type AgentOptions } from 'node:https';
import crossFetch from 'cross-fetch';
import type { FetchLike } from '../api/http-transport';
import { isLoopbackHost } from '../auth/secure-base-url';

/** The TLS versions `nodeFetch` can be told to accept at least. */
export type MinTlsVersion = 'TLSv1.3' | 'TLSv1.2';

/** Options of `nodeFetch`. */
export interface NodeFetchOptions {
  /**
   * Lowest TLS version accepted from a non-loopback `https://` host.
   * Default `'TLSv1.3'` (the spec's requirement); `'TLSv1.2'` is the only
   * way to talk to an older server, and must be chosen explicitly.
   * Loopback hosts (`localhost`, 127.0.0.0/8, `[::1]`) keep Node's default.
   */
  readonly minTlsVersion?: MinTlsVersion;
  /**
   * Extra options of the https agents, e.g. `ca` for a private CA or
   * `cert`/`key` for client certificates. The protocol version is not
   * settable here (`minVersion`, `maxVersion`, `secureProtocol` are ignored).
   */
  readonly agentOptions?: Omit<AgentOptions, 'minVersion' | 'maxVersion' | 'secureProtocol'>;
}

// Node's own global agents keep sockets alive the same way (Node ≥ 19).
const KEEP_ALIVE = { keepAlive: true, scheduling: 'lifo', timeout: 5_000 } as const;

/** An agent that hands every request it is given to `onRequest`, then to the shared agent (sockets stay pooled). */
function watchingAgent<A extends HttpAgent>(shared: A, onRequest: (req: ClientRequest) => void): A {
  const watching = Object.create(shared) as A & { addRequest(req: ClientRequest, opts: unknown): void };
  watching.addRequest = (req: ClientRequest, opts: unknown): void => {
    onRequest(req);
    (shared as unknown as { addRequest(req: ClientRequest, opts: unknown): void }).addRequest(req, opts);
  };
  return watching;
}

/** The connection closed before the response's last byte (short of its Content-Length). */
function cutShort(): Error {
  return Object.assign(new Error('response ended before its length'), { code: 'ECONNRESET' });
}

/**
 * The engine's `fetch` on Node: `cross-fetch` (node-fetch over `node:http`)
 * with the spec's transport rules enforced below the engine.
 *
 * - **TLS 1.3** to every non-loopback `https://` host (an agent with
 *   `minVersion: 'TLSv1.3'`); a server offering less fails the handshake
 *   (a `NetworkError`, retried, never sent in clear). `minTlsVersion:
 *   'TLSv1.2'` is the explicit, documented way to lower it.
 * - A response cut short of its `Content-Length` fails at once (node-fetch
 *   alone waits for the request timeout): the body stream is destroyed with
 *   an `ECONNRESET`, which the engine classifies as a network failure.
 * - Redirects: whatever the caller asks, never followed (`redirect: 'manual'`).
 *
 * `sync-engine/node` registers `nodeFetch()` as the engine's default fetch
 * when it is loaded; pass your own to change the options.
 *
 * @example
 * createSyncEngine({ ...options, fetch: nodeFetch({ agentOptions: { ca: readFileSync('corp-ca.pem') } }) });
 */
export function nodeFetch(options: NodeFetchOptions = {}): FetchLike {
  const { minVersion: _min, maxVersion: _max, secureProtocol: _proto, ...agentOptions } = (options.agentOptions ?? {}) as AgentOptions;
  const minTlsVersion: MinTlsVersion = options.minTlsVersion === 'TLSv1.2' ? 'TLSv1.2' : 'TLSv1.3';
  const remote = new HttpsAgent({ ...KEEP_ALIVE, ...agentOptions, minVersion: minTlsVersion });
  const loopback = new HttpsAgent({ ...KEEP_ALIVE, ...agentOptions });
  const plain = new HttpAgent(KEEP_ALIVE);
  const fetchFn = crossFetch as unknown as (input: string, init: RequestInit & { agent?: unknown }) => Promise<Response>;

  return async (input, init) => {
    let request: ClientRequest | undefined;
    const agent = (url: URL): HttpAgent => {
      const shared = url.protocol === 'https:' ? (isLoopbackHost(url.hostname) ? loopback : remote) : plain;
      return watchingAgent(shared, (req) => {
        request = req;
      });
    };
    const res = await fetchFn(input, { ...init, redirect: 'manual', agent });
    // node-fetch pipes the IncomingMessage into its body stream, and a pipe
    // does not pass on an early close: without this the read hangs.
    const incoming = (request as (ClientRequest & { res?: IncomingMessage }) | undefined)?.res;
    const body = res.body as unknown as { destroy?(err: Error): void } | null;
    if (incoming !== undefined && body !== null && typeof body.destroy === 'function') {
      const onClose = (): void => {
        if (!incoming.complete) body.destroy?.(cutShort());
      };
      if (incoming.destroyed) onClose();
      else incoming.once('close', onClose);
    }
    return res;
  };
}
