import { ValidationError } from '../errors/sync-error';
import type { FetchLike } from './http-transport';

let platformFetch: FetchLike | undefined;

// Read at call time, not at import: an app or test that replaces
// `globalThis.fetch` later is honoured, and `fetch` is always called on
// `globalThis` (a detached browser `fetch` throws "Illegal invocation").
const globalFetch: FetchLike = (input, init) => globalThis.fetch(input, init);

/**
 * The `fetch` the engine uses when none is given: the one a platform entry
 * registered (`sync-engine/node` registers `nodeFetch()`, TLS 1.3 and no
 * redirects), else the platform's own `globalThis.fetch` (every current
 * browser, Node ≥ 18, Deno, Bun): no ponyfill is bundled. Throws
 * `ValidationError('invalidOptions')` where there is neither, so a missing
 * `fetch` fails at `createSyncEngine` instead of as endless network errors.
 *
 * @example
 * const transport = fetchTransport(defaultFetch());
 */
export function defaultFetch(): FetchLike {
  if (platformFetch !== undefined) return platformFetch;
  if (typeof globalThis.fetch !== 'function') {
    throw new ValidationError('invalidOptions', 'fetch: this platform has no global fetch; pass options.fetch');
  }
  return globalFetch;
}

/**
 * Register the platform's default `fetch` (called once by a platform entry
 * point when it loads; `undefined` restores `globalThis.fetch`). Internal.
 *
 * @example
 * setDefaultFetch(nodeFetch());
 */
export function setDefaultFetch(fetch: FetchLike | undefined): void {
  platformFetch = fetch;
}
