import crossFetch from 'cross-fetch';
import type { FetchLike } from './http-transport';

let platformFetch: FetchLike | undefined;

/**
 * The `fetch` the engine uses when none is given: the one a platform entry
 * registered (`sync-engine/node` registers `nodeFetch()`, TLS 1.3 and no
 * redirects), else `cross-fetch` (the browser's own `fetch` where there is
 * one).
 *
 * @example
 * const transport = fetchTransport(defaultFetch());
 */
export function defaultFetch(): FetchLike {
  return platformFetch ?? (crossFetch as unknown as FetchLike);
}

/**
 * Register the platform's default `fetch` (called once by a platform entry
 * point when it loads; `undefined` restores `cross-fetch`). Internal.
 *
 * @example
 * setDefaultFetch(nodeFetch());
 */
export function setDefaultFetch(fetch: FetchLike | undefined): void {
  platformFetch = fetch;
}
