/**
 * The part of the Web Locks API (`navigator.locks`) the Web Locks processor
 * lock uses: an exclusive request, abortable while it waits, held until the
 * callback's Promise settles. Browsers' `LockManager` is one; tests inject
 * a fake.
 *
 * @example
 * const locks: LockManagerLike = navigator.locks;
 * createWebLock(meta, { locks });
 */
export interface LockManagerLike {
  /** `steal`: take the lock from its holder at once (never with `signal`: browsers refuse the two together). */
  request(
    name: string,
    options: { readonly mode: 'exclusive'; readonly signal?: AbortSignal; readonly steal?: boolean },
    callback: (lock: unknown) => Promise<unknown>,
  ): Promise<unknown>;
}

/**
 * The platform's `navigator.locks`, where it is the browser's: undefined in
 * Node (whose `navigator.locks`, from Node 22 on, only spans one process —
 * the storage lock spans every process sharing the file) and wherever the
 * API is missing.
 *
 * @example
 * const locks = platformLockManager(); // navigator.locks in a browser, undefined in Node
 */
export function platformLockManager(): LockManagerLike | undefined {
  const g = globalThis as { navigator?: { locks?: { request?: unknown } }; process?: { versions?: { node?: unknown } } };
  if (typeof g.process?.versions?.node === 'string') return undefined;
  const locks = g.navigator?.locks;
  return typeof locks?.request === 'function' ? (locks as LockManagerLike) : undefined;
}

/** True for the rejection a Web Locks request gets when it was aborted while waiting or its lock was stolen. */
export const isAbortError = (err: unknown): boolean =>
  typeof err === 'object' && err !== null && (err as { name?: unknown }).name === 'AbortError';
