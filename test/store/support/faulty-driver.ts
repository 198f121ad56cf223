import localforage from 'localforage';

/**
 * Controls a driver wrapper: `crashAfter(n)` lets `n` more writes
 * (setItem/setItems/removeItem) through, then every later write throws without
 * touching storage, as if the process died there. `failWith(err)` makes
 * every write throw `err` (quota, I/O error).
 */
export interface FaultPlan {
  crashAfter(writes: number): void;
  failWith(err: unknown): void;
  reset(): void;
  readonly writes: number;
}

const WRITES = new Set(['setItem', 'setItems', 'removeItem', 'clear']);
const METHODS = ['getItem', 'setItem', 'removeItem', 'clear', 'length', 'key', 'keys', 'iterate', 'dropInstance', 'readRange', 'closeInstance', 'setItems'];

/** Define `faulty:<base>` wrapping the already-defined driver `base`. */
export async function defineFaultyDriver(base: string): Promise<{ driver: string; plan: FaultPlan }> {
  const baseDriver = (await localforage.getDriver(base)) as unknown as Record<string, (...a: unknown[]) => unknown>;
  let left: number | null = null;
  let error: unknown = null;
  let writes = 0;
  const plan: FaultPlan = {
    crashAfter(n) {
      left = n;
      error = null;
    },
    failWith(err) {
      error = err;
      left = null;
    },
    reset() {
      left = null;
      error = null;
    },
    get writes() {
      return writes;
    },
  };
  const name = `faulty:${base}`;
  const wrapper: Record<string, unknown> = {
    _driver: name,
    _support: true,
    _initStorage(this: unknown, options: unknown) {
      return baseDriver._initStorage!.call(this, options);
    },
  };
  for (const m of METHODS) {
    if (typeof baseDriver[m] !== 'function') continue;
    wrapper[m] = function (this: unknown, ...args: unknown[]) {
      if (WRITES.has(m)) {
        if (error !== null) return Promise.reject(error);
        if (left !== null) {
          if (left === 0) return Promise.reject(new Error('simulated crash'));
          left--;
        }
        writes++;
      }
      return baseDriver[m]!.apply(this, args);
    };
  }
  await localforage.defineDriver(wrapper as unknown as LocalForageDriver);
  return { driver: name, plan };
}
