import localforage from 'localforage';
import { compareKeys, type RangeDriverExtras } from './range-driver';

/** The localforage driver name of the in-memory driver. */
export const MEMORY_DRIVER = 'syncEngineMemoryDriver';

interface Table {
  /** Keys kept sorted: iterate and readRange walk them in key order. */
  readonly keys: string[];
  readonly values: Map<string, unknown>;
}

interface MemoryDbInfo {
  readonly table: Table;
}

type Self = LocalForage & { _dbInfo: MemoryDbInfo };

// Shared by every instance in this JS realm with the same name and
// storeName, so a store closed and reopened in the same test sees the same
// data, like a real database would. Nothing survives the process.
const tables = new Map<string, Table>();

function tableFor(name: string, storeName: string): Table {
  const id = `${name}\u0000${storeName}`;
  let t = tables.get(id);
  if (!t) {
    t = { keys: [], values: new Map() };
    tables.set(id, t);
  }
  return t;
}

/** Index of the first key >= key (binary search). */
function lowerBound(keys: readonly string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareKeys(keys[mid] as string, key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function table(self: Self): Table {
  return self._dbInfo.table;
}

// Values are cloned on the way in and out, as structured-clone storage does,
// so callers can never mutate stored state by reference.
const clone = <T>(v: T): T => (v === null || typeof v !== 'object' ? v : structuredClone(v));

function put(t: Table, k: string, value: unknown): void {
  if (!t.values.has(k)) {
    // Appends are the common case: a key larger than the last goes at the end.
    const last = t.keys[t.keys.length - 1];
    if (last === undefined || compareKeys(last, k) < 0) t.keys.push(k);
    else t.keys.splice(lowerBound(t.keys, k), 0, k);
  }
  t.values.set(k, clone(value === undefined ? null : value));
}

const memoryDriver: LocalForageDriver & RangeDriverExtras = {
  _driver: MEMORY_DRIVER,
  _support: true,
  _initStorage(this: Self, options: LocalForageOptions) {
    this._dbInfo = { table: tableFor(options.name ?? 'localforage', options.storeName ?? 'keyvaluepairs') };
    return Promise.resolve() as unknown as void;
  },
  async getItem<T>(this: Self, key: string) {
    const v = table(this).values.get(String(key));
    return (v === undefined ? null : clone(v)) as T | null;
  },
  async setItem<T>(this: Self, key: string, value: T) {
    put(table(this), String(key), value);
    return value;
  },
  async setItems(this: Self, entries: ReadonlyArray<readonly [string, unknown]>) {
    // Synchronous, so trivially all-or-nothing.
    const t = table(this);
    for (const [k, v] of entries) put(t, String(k), v);
  },
  async removeItem(this: Self, key: string) {
    const k = String(key);
    const t = table(this);
    if (!t.values.delete(k)) return;
    const i = lowerBound(t.keys, k);
    if (t.keys[i] === k) t.keys.splice(i, 1);
  },
  async clear(this: Self) {
    const t = table(this);
    t.keys.length = 0;
    t.values.clear();
  },
  async length(this: Self) {
    return table(this).keys.length;
  },
  async key(this: Self, n: number) {
    return (table(this).keys[n] ?? null) as string;
  },
  async keys(this: Self) {
    return table(this).keys.slice();
  },
  async iterate<T, U>(this: Self, iteratee: (value: T, key: string, n: number) => U) {
    const t = table(this);
    // Walk a snapshot of the keys so writes made by the callback's caller
    // between iterations cannot skip or repeat an entry.
    const keys = t.keys.slice();
    let n = 1;
    for (const k of keys) {
      if (!t.values.has(k)) continue;
      const r = iteratee(clone(t.values.get(k)) as T, k, n++);
      if (r !== undefined) return r;
    }
    return undefined as unknown as U;
  },
  async dropInstance(this: Self, options?: LocalForageDbInstanceOptions) {
    const name = options?.name;
    const storeName = options?.storeName;
    for (const id of [...tables.keys()]) {
      const [n, s] = id.split('\u0000');
      if ((name === undefined || n === name) && (storeName === undefined || s === storeName)) tables.delete(id);
    }
  },
  async readRange(this: Self, afterKey: string | null, limit: number) {
    const t = table(this);
    let i = afterKey === null ? 0 : lowerBound(t.keys, afterKey);
    if (afterKey !== null && t.keys[i] === afterKey) i++;
    const out: Array<readonly [string, unknown]> = [];
    for (; i < t.keys.length && out.length < limit; i++) {
      const k = t.keys[i] as string;
      out.push([k, clone(t.values.get(k))]);
    }
    return out;
  },
};

let defined: Promise<void> | undefined;

/**
 * Register the in-memory localforage driver (idempotent) and return its
 * name. Data lives in this JS realm only, shared by instances with the same
 * `name`/`storeName`, so a store can be closed and reopened in a test.
 * Handy for apps' own tests too.
 *
 * @example
 * const driver = await defineMemoryDriver();
 * const store = await createOpStore({ name: 'test', driver, encryptionKey });
 */
export async function defineMemoryDriver(): Promise<string> {
  defined ??= localforage.defineDriver(memoryDriver);
  await defined;
  return MEMORY_DRIVER;
}

/**
 * Forget every in-memory table (or those of one database `name`), e.g.
 * between tests.
 *
 * @example
 * afterEach(() => resetMemoryDriver());
 */
export function resetMemoryDriver(name?: string): void {
  for (const id of [...tables.keys()]) {
    if (name === undefined || id.startsWith(`${name}\u0000`)) tables.delete(id);
  }
}
