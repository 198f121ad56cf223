import { ValidationError } from '../errors/sync-error';

/**
 * `createOpStore`'s default driver is IndexedDB. Where there is none (Node,
 * Electron's main process, a worker without it) and no `driver` was given,
 * say what to use instead rather than fail on a missing `indexedDB`: throws
 * `ValidationError('invalidOptions')` pointing at `createSqliteOpStore`
 * from `sync-engine/node`.
 *
 * @example
 * assertDefaultDriverAvailable(options.driver); // first line of createOpStore
 */
export function assertDefaultDriverAvailable(
  driver: string | readonly string[] | undefined,
  scope: { readonly indexedDB?: unknown } = globalThis,
): void {
  if (driver !== undefined || scope.indexedDB !== undefined) return;
  throw new ValidationError(
    'invalidOptions',
    "driver: IndexedDB is not available here; in Node or Electron use createSqliteOpStore(path) from 'sync-engine/node', or pass a driver (e.g. defineMemoryDriver())",
  );
}
