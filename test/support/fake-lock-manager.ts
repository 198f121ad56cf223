import type { LockManagerLike } from '../../src/lock/web-lock-manager';

/** The rejection of an aborted or stolen request, as browsers give it (a `DOMException` named `AbortError`). */
const abortError = (): Error => Object.assign(new Error('The request was aborted.'), { name: 'AbortError' });

interface Request {
  readonly page: FakePage;
  readonly callback: (lock: unknown) => Promise<unknown>;
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: unknown) => void;
}

/**
 * The Web Locks API of one origin, in memory, for tests: exclusive locks
 * granted in request order, an aborted waiting request rejected with
 * `AbortError`, `steal` (the holder's request rejected with `AbortError`),
 * and pages (`page()`) that can be closed — a closed page's locks are
 * released at once and its requests never settle, as when a tab goes away.
 *
 * @example
 * const origin = new FakeLockOrigin();
 * const tabA = origin.page(), tabB = origin.page();
 * createWebLock(metaA, { locks: tabA }); createWebLock(metaB, { locks: tabB });
 * tabA.close(); // B is granted the lock
 */
export class FakeLockOrigin {
  readonly #held = new Map<string, Request>();
  readonly #queues = new Map<string, Request[]>();
  /** Every grant, in order: `[lock name, page id]`. */
  readonly grants: Array<readonly [string, number]> = [];
  #pages = 0;

  page(): FakePage {
    return new FakePage(this, (this.#pages += 1));
  }

  /** The page holding `name`, if any. */
  holder(name: string): number | undefined {
    return this.#held.get(name)?.page.id;
  }

  /** Names of the locks held now. */
  heldNames(): string[] {
    return [...this.#held.keys()];
  }

  request(page: FakePage, name: string, options: { readonly signal?: AbortSignal; readonly steal?: boolean }, callback: (lock: unknown) => Promise<unknown>): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (options.signal?.aborted) {
        reject(abortError());
        return;
      }
      const req: Request = { page, callback, resolve, reject };
      if (options.steal === true) {
        const holder = this.#held.get(name);
        if (holder !== undefined) {
          this.#held.delete(name);
          holder.reject(abortError());
        }
        this.#grant(name, req);
        return;
      }
      const queue = this.#queues.get(name) ?? [];
      queue.push(req);
      this.#queues.set(name, queue);
      options.signal?.addEventListener('abort', () => {
        const q = this.#queues.get(name) ?? [];
        const i = q.indexOf(req);
        if (i < 0) return; // granted already: the signal no longer matters
        q.splice(i, 1);
        reject(abortError());
      });
      this.#next(name);
    });
  }

  /** A page went away: its locks are released, its waiting requests dropped (they never settle). */
  closePage(page: FakePage): void {
    for (const [name, q] of this.#queues) this.#queues.set(name, q.filter((r) => r.page !== page));
    for (const [name, req] of [...this.#held]) {
      if (req.page !== page) continue;
      this.#held.delete(name);
      this.#next(name);
    }
  }

  #next(name: string): void {
    if (this.#held.has(name)) return;
    const req = this.#queues.get(name)?.shift();
    if (req !== undefined) this.#grant(name, req);
  }

  #grant(name: string, req: Request): void {
    this.#held.set(name, req);
    this.grants.push([name, req.page.id]);
    const done = (): void => {
      if (this.#held.get(name) !== req) return; // stolen or page closed: released already
      this.#held.delete(name);
      this.#next(name);
    };
    let result: Promise<unknown>;
    try {
      result = Promise.resolve(req.callback({ name, mode: 'exclusive' }));
    } catch (err) {
      result = Promise.reject(err);
    }
    result.then(
      (v) => {
        const mine = this.#held.get(name) === req;
        done();
        if (mine && !req.page.closed) req.resolve(v);
      },
      (e: unknown) => {
        const mine = this.#held.get(name) === req;
        done();
        if (mine && !req.page.closed) req.reject(e);
      },
    );
  }
}

/** One page's `navigator.locks`. */
export class FakePage implements LockManagerLike {
  closed = false;

  constructor(
    private readonly origin: FakeLockOrigin,
    readonly id: number,
  ) {}

  request(name: string, options: { readonly mode: 'exclusive'; readonly signal?: AbortSignal; readonly steal?: boolean }, callback: (lock: unknown) => Promise<unknown>): Promise<unknown> {
    if (this.closed) return new Promise(() => undefined);
    return this.origin.request(this, name, options, callback);
  }

  /** The tab is closed (or crashed, or reloaded): its locks are released at once. */
  close(): void {
    this.closed = true;
    this.origin.closePage(this);
  }
}
