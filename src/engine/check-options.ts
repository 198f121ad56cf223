import { isObservable } from 'rxjs';
import { assertExtraHeaders } from '../api/request-headers';
import { ValidationError } from '../errors/sync-error';
import type { ProcessorLock } from '../lock/processor-lock';
import { SYNC_ENGINE_DEFAULTS, type SyncEngineOptions } from './sync-engine-options';

/** True for an app's own `ProcessorLock` (else `lock` holds storage-lock timings). */
export const isProcessorLock = (l: unknown): l is ProcessorLock =>
  typeof l === 'object' && l !== null && typeof (l as ProcessorLock).hold === 'function';

/** A finite number > 0, or `ValidationError('invalidOptions')` naming the option. */
export const positive = (name: string, v: number): number => {
  if (!(typeof v === 'number' && Number.isFinite(v) && v > 0)) {
    throw new ValidationError('invalidOptions', `${name}: expected a positive number`);
  }
  return v;
};

// A multiplier below 1 would shorten waits, and with them a server's
// Retry-After; above 1 anything finite is honoured (boundedWaitMs clamps the
// stretched wait to the policy maximum).
/** A finite multiplier ≥ 1, or `ValidationError('invalidOptions')`. */
export const stretchFactor = (name: string, v: number): number => {
  if (!(typeof v === 'number' && Number.isFinite(v) && v >= 1)) {
    throw new ValidationError('invalidOptions', `${name}: expected a finite number ≥ 1`);
  }
  return v;
};

/**
 * The shapes `createSyncEngine` needs before it builds anything: routes, a
 * store, `auth` (or none), `requestHeaders`, the wake ports. Throws
 * `ValidationError('invalidOptions')` naming the first bad one; values with
 * units (timings, sizes) are checked where they are used.
 *
 * @example
 * assertOptionShapes({ baseUrl, routes, store }); // ok
 */
export function assertOptionShapes(options: SyncEngineOptions): void {
  if (typeof options !== 'object' || options === null) throw new ValidationError('invalidOptions', 'options: expected an object');
  if (!options.routes || typeof options.routes.validate !== 'function') {
    throw new ValidationError('invalidOptions', 'routes: expected an OpRouter (defineRoutes)');
  }
  if (!options.store || typeof options.store.peek !== 'function') {
    throw new ValidationError('invalidOptions', 'store: expected an OpStore (createOpStore)');
  }
  const source = options.auth;
  if (source !== undefined && (typeof source?.getToken !== 'function' || typeof source.refreshToken !== 'function')) {
    throw new ValidationError('invalidOptions', 'auth: expected { getToken, refreshToken }, or no auth');
  }
  if (options.account$ !== undefined && !isObservable(options.account$)) {
    throw new ValidationError('invalidOptions', 'account$: expected an Observable of the account id (string | null)');
  }
  const ownHeaders = options.requestHeaders;
  if (ownHeaders !== undefined && typeof ownHeaders !== 'function') assertExtraHeaders(ownHeaders);
  const wake = options.wake;
  if (wake !== undefined && wake !== false && (typeof wake?.post !== 'function' || typeof wake.close !== 'function' || !isObservable(wake.wake$))) {
    throw new ValidationError('invalidOptions', 'wake: expected a WakePort { post, wake$, close }');
  }
  const crossTab = options.crossTab;
  if (crossTab !== undefined && crossTab !== false && (typeof crossTab?.post !== 'function' || typeof crossTab.close !== 'function' || !isObservable(crossTab.messages$))) {
    throw new ValidationError('invalidOptions', 'crossTab: expected a CrossTabPort { post, messages$, live, close }, or false');
  }
  if (options.serverWake !== undefined && !isObservable(options.serverWake?.ready$)) {
    throw new ValidationError('invalidOptions', 'serverWake: expected a ServerWake { ready$ }');
  }
}

/**
 * `concurrency` and `batch` resolved with their defaults, or
 * `ValidationError('invalidOptions')` naming the bad one.
 *
 * @example
 * throughputOptions({ concurrency: 8 }); // { concurrency: 8, batch: undefined }
 */
export function throughputOptions(options: Pick<SyncEngineOptions, 'concurrency' | 'batch'>): {
  readonly concurrency: number;
  readonly batch?: { readonly path: string; readonly maxOps: number; readonly maxBytes: number };
} {
  const count = (name: string, v: number): number => {
    if (!Number.isSafeInteger(v) || v < 1) throw new ValidationError('invalidOptions', `${name}: expected an integer ≥ 1`);
    return v;
  };
  const concurrency = count('concurrency', options.concurrency ?? SYNC_ENGINE_DEFAULTS.concurrency);
  const b = options.batch;
  if (b === undefined) return { concurrency };
  if (typeof b !== 'object' || b === null || typeof b.path !== 'string' || !b.path.startsWith('/') || b.path.startsWith('//') || /[?#\\\s]/.test(b.path)) {
    throw new ValidationError('invalidOptions', 'batch.path: expected a path below baseUrl starting with "/"');
  }
  return {
    concurrency,
    batch: {
      path: b.path,
      maxOps: count('batch.maxOps', b.maxOps ?? SYNC_ENGINE_DEFAULTS.batchMaxOps),
      maxBytes: count('batch.maxBytes', b.maxBytes ?? SYNC_ENGINE_DEFAULTS.batchMaxBytes),
    },
  };
}
