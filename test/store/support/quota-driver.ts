import localforage from 'localforage';
import { defineMemoryDriver } from '../../../src/drivers/memory-driver';

/**
 * Controls the quota driver: `fill()` exhausts the quota as Chromium does
 * (measured, docs/operating.md): every write that puts anything
 * (setItem, setItems, setAndRemove, setAllAndRemove) rejects with a `QuotaExceededError`
 * DOMException and changes nothing, while a removal succeeds and frees room
 * — unless `fill({ staysFull: true })`, where removals free too little.
 */
export interface QuotaPlan {
  fill(o?: { staysFull?: boolean }): void;
  reset(): void;
  readonly full: boolean;
  /** Put-type writes refused so far. */
  readonly refused: number;
}

const PUTS = new Set(['setItem', 'setItems', 'setAndRemove', 'setAllAndRemove']);
const METHODS = ['getItem', 'setItem', 'removeItem', 'clear', 'length', 'key', 'keys', 'iterate', 'dropInstance', 'readRange', 'setItems', 'setAndRemove', 'setAllAndRemove'];

let defined: Promise<{ driver: string; plan: QuotaPlan }> | undefined;

/** Define `quota:memory` (once): the memory driver, `setAndRemove` and `setAllAndRemove` included, behind a `QuotaPlan`. */
export function defineQuotaDriver(): Promise<{ driver: string; plan: QuotaPlan }> {
  defined ??= (async () => {
    const base = (await localforage.getDriver(await defineMemoryDriver())) as unknown as Record<string, (...a: unknown[]) => unknown>;
    let full = false;
    let staysFull = false;
    let refused = 0;
    const plan: QuotaPlan = {
      fill(o = {}) {
        full = true;
        staysFull = o.staysFull === true;
      },
      reset() {
        full = false;
        staysFull = false;
        refused = 0;
      },
      get full() {
        return full;
      },
      get refused() {
        return refused;
      },
    };
    const wrapper: Record<string, unknown> = {
      _driver: 'quota:memory',
      _support: true,
      _initStorage(this: unknown, options: unknown) {
        return base._initStorage!.call(this, options);
      },
    };
    for (const m of METHODS) {
      wrapper[m] = async function (this: unknown, ...args: unknown[]) {
        if (full && PUTS.has(m)) {
          refused++;
          throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
        }
        const r = await base[m]!.apply(this, args);
        if (m === 'removeItem' && !staysFull) full = false;
        return r;
      };
    }
    await localforage.defineDriver(wrapper as unknown as LocalForageDriver);
    return { driver: 'quota:memory', plan };
  })();
  return defined;
}
