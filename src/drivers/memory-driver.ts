import localforage from 'localforage';
import { compareKeys, type RangeCapableForage, type RangeDriverExtras } from './range-driver';

/** The localforage driver name of the in-memory driver. */
export const MEMORY_DRIVER = 'syncEngineMemoryDriver';

/**
 * One table: values by key, and the keys in sorted order (iterate and
 * readRange walk them in key order). A queue is appended at the end and
 * removed at the head, so removing the first key only moves `#head`
 * (the array is compacted once the dead prefix is large): O(1) instead of a
 * splice shifting every other key.
 */
class Table {
  readonly values = new Map<string, unknown>();
  #keys: string[] = [];
  #head = 0;

  get size(): number {
    return this.#keys.length - this.#head;
  }

  /** The n-th key in order. */
  at(n: number): string | undefined {
    return this.#keys[this.#head + n];
  }

  /** Position (in `at` terms) of the first key >= key (binary search). */
  lowerBound(key: string): number {
    let lo = this.#head;
    let hi = this.#keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareKeys(this.#keys[mid] as string, key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo - this.#head;
  }

  set(k: string, value: unknown): void {
    if (!this.values.has(k)) {
      // Appends are the common case: a key larger than the last goes at the end.
      const last = this.#keys[this.#keys.length - 1];
      if (this.size === 0 || compareKeys(last as string, k) < 0) this.#keys.push(k);
      else this.#keys.splice(this.#head + this.lowerBound(k), 0, k);
    }
    this.values.set(k, clone(value === undefined ? null : value));
  }

  delete(k: string): void {
    if (!this.values.delete(k)) return;
    if (this.#keys[this.#head] === k) {
      this.#keys[this.#head] = '';
      this.#head += 1;
      if (this.#head === this.#keys.length) this.clear();
      else if (this.#head >= 1024 && this.#head * 2 >= this.#keys.length) {
        this.#keys = this.#keys.slice(this.#head);
        this.#head = 0;
      }
      return;
    }
    const i = this.lowerBound(k);
    if (this.at(i) === k) this.#keys.splice(this.#head + i, 1);
  }

  clear(): void {
    this.#keys = [];
    this.#head = 0;
    this.values.clear();
  }

  /** A snapshot of the keys in order. */
  keys(): string[] {
    return this.#keys.slice(this.#head);
  }
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
    t = new Table();
    tables.set(id, t);
  }
  return t;
}

function table(self: Self): Table {
  return self._dbInfo.table;
}

// Values are cloned on the way in and out, as structured-clone storage does,
// so callers can never mutate stored state by reference.
const clone = <T>(v: T): T => (v === null || typeof v !== 'object' ? v : structuredClone(v));

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
    table(this).set(String(key), value);
    return value;
  },
  async setItems(this: Self, entries: ReadonlyArray<readonly [string, unknown]>) {
    // Synchronous, so trivially all-or-nothing.
    const t = table(this);
    for (const [k, v] of entries) t.set(String(k), v);
  },
  async removeItem(this: Self, key: string) {
    table(this).delete(String(key));
  },
  async setAndRemove(this: Self, key: string, value: unknown, other: RangeCapableForage, otherKey: string) {
    // Synchronous; the set (which may throw: an uncloneable value) first,
    // so a failure changes nothing.
    const theirs = table(other as Self);
    table(this).set(String(key), value);
    theirs.delete(String(otherKey));
  },
  async setAllAndRemove(this: Self, entries: ReadonlyArray<readonly [string, unknown]>, other: RangeCapableForage, otherKeys: readonly string[]) {
    // Synchronous; every value copied before anything is set (a value it
    // cannot copy throws here), so a failure changes nothing.
    const mine = table(this);
    const theirs = table(other as Self);
    const copies = entries.map(([k, v]) => [String(k), clone(v)] as const);
    for (const [k, v] of copies) mine.set(k, v);
    for (const k of otherKeys) theirs.delete(String(k));
  },
  async clear(this: Self) {
    table(this).clear();
  },
  async length(this: Self) {
    return table(this).size;
  },
  async key(this: Self, n: number) {
    return (table(this).at(n) ?? null) as string;
  },
  async keys(this: Self) {
    return table(this).keys();
  },
  async iterate<T, U>(this: Self, iteratee: (value: T, key: string, n: number) => U) {
    const t = table(this);
    // Walk a snapshot of the keys so writes made by the callback's caller
    // between iterations cannot skip or repeat an entry.
    const keys = t.keys();
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
    let i = afterKey === null ? 0 : t.lowerBound(afterKey);
    if (afterKey !== null && t.at(i) === afterKey) i++;
    const out: Array<readonly [string, unknown]> = [];
    for (; i < t.size && out.length < limit; i++) {
      const k = t.at(i) as string;
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
