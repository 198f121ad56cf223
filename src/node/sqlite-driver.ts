import Database from 'better-sqlite3';
import localforage from 'localforage';
import type { RangeCapableForage, RangeDriverExtras } from '../drivers/range-driver';

/** The localforage driver name of the SQLite driver. */
export const SQLITE_DRIVER = 'syncEngineSqliteDriver';

/** SQLite `synchronous` level: FULL survives power loss, NORMAL only process crashes. */
export type SqliteSynchronous = 'FULL' | 'NORMAL';

/** Driver settings read from the localforage config (`driverOptions` of `createOpStore`). */
export interface SqliteDriverConfig {
  /** Default `'FULL'`: every commit is fsynced, so a resolved write survives a reboot. */
  readonly sqliteSynchronous?: SqliteSynchronous;
  /** Extra pragmas run once when the file is opened, e.g. `['cache_size = -8000']`. */
  readonly sqlitePragmas?: readonly string[];
}

interface Connection {
  readonly db: Database.Database;
  refs: number;
}

interface Statements {
  readonly get: Database.Statement<[string], { value: string }>;
  readonly set: Database.Statement<[string, string]>;
  readonly remove: Database.Statement<[string]>;
  readonly clear: Database.Statement<[]>;
  readonly count: Database.Statement<[], { n: number }>;
  readonly keyAt: Database.Statement<[number], { key: string }>;
  readonly keys: Database.Statement<[], { key: string }>;
  readonly all: Database.Statement<[], { key: string; value: string }>;
  readonly first: Database.Statement<[number], { key: string; value: string }>;
  readonly after: Database.Statement<[string, number], { key: string; value: string }>;
}

interface SqliteDbInfo {
  readonly path: string;
  readonly conn: Connection;
  readonly stmts: Statements;
  readonly setMany: (entries: ReadonlyArray<readonly [string, unknown]>) => void;
  /** Remove from another table, then set here: one transaction. */
  readonly removeThenSet: (remove: Database.Statement<[string]>, otherKey: string, key: string, value: unknown) => void;
  closed: boolean;
}

type Self = LocalForage & { _dbInfo: SqliteDbInfo };

// One connection per database file, shared by the store's four tables.
const connections = new Map<string, Connection>();

/** The subset of a better-sqlite3 `Database` that `enableWal` uses. */
export interface PragmaRunner {
  pragma(source: string): unknown;
}

/**
 * `PRAGMA journal_mode = WAL`, retried for up to `timeoutMs` while SQLite
 * answers SQLITE_BUSY. Two processes opening a new file at the same moment
 * both convert it to WAL, and the loser gets SQLITE_BUSY at once, without
 * waiting on the busy timeout (seen about once in 50 such starts); once the
 * winner is done the pragma is a no-op. Waits synchronously (the driver is
 * synchronous), 5 ms doubling to 100 ms between tries.
 *
 * @example
 * enableWal(new Database(path));
 */
export function enableWal(db: PragmaRunner, timeoutMs = 5_000, now: () => number = () => performance.now()): void {
  const deadline = now() + timeoutMs;
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  for (let waitMs = 5; ; waitMs = Math.min(waitMs * 2, 100)) {
    try {
      db.pragma('journal_mode = WAL');
      return;
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'SQLITE_BUSY' || now() >= deadline) throw err;
      Atomics.wait(sleeper, 0, 0, waitMs);
    }
  }
}

function connect(path: string, synchronous: SqliteSynchronous, pragmas: readonly string[]): Connection {
  let conn = connections.get(path);
  if (!conn) {
    const db = new Database(path);
    try {
      // Several processes may share the file; wait for a writer rather than fail.
      db.pragma('busy_timeout = 5000');
      enableWal(db);
      db.pragma(`synchronous = ${synchronous === 'NORMAL' ? 'NORMAL' : 'FULL'}`);
      for (const p of pragmas) db.pragma(p);
    } catch (err) {
      db.close();
      throw err;
    }
    conn = { db, refs: 0 };
    connections.set(path, conn);
  }
  conn.refs++;
  return conn;
}

function prepare(db: Database.Database, storeName: string): Statements {
  const table = `"lf_${storeName.replace(/\W/g, '_')}"`;
  // WITHOUT ROWID: the primary key is the row order, so `key > ? ORDER BY
  // key LIMIT ?` is one B-tree seek plus a short scan.
  db.exec(`CREATE TABLE IF NOT EXISTS ${table} (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) WITHOUT ROWID`);
  return {
    get: db.prepare(`SELECT value FROM ${table} WHERE key = ?`),
    set: db.prepare(`INSERT INTO ${table} (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`),
    remove: db.prepare(`DELETE FROM ${table} WHERE key = ?`),
    clear: db.prepare(`DELETE FROM ${table}`),
    count: db.prepare(`SELECT COUNT(*) AS n FROM ${table}`),
    keyAt: db.prepare(`SELECT key FROM ${table} ORDER BY key LIMIT 1 OFFSET ?`),
    keys: db.prepare(`SELECT key FROM ${table} ORDER BY key`),
    all: db.prepare(`SELECT key, value FROM ${table} ORDER BY key`),
    first: db.prepare(`SELECT key, value FROM ${table} ORDER BY key LIMIT ?`),
    after: db.prepare(`SELECT key, value FROM ${table} WHERE key > ? ORDER BY key LIMIT ?`),
  };
}

function info(self: Self): SqliteDbInfo {
  const i = self._dbInfo;
  if (i.closed) throw Object.assign(new Error('SQLite instance is closed'), { code: 'SQLITE_MISUSE' });
  return i;
}

// Values are JSON text, as localforage's localStorage driver does; the store
// only ever writes strings (sealed records).
const encode = (v: unknown): string => JSON.stringify(v === undefined ? null : v);
const decode = (s: string): unknown => JSON.parse(s) as unknown;

// better-sqlite3 is synchronous; each method runs its statement at once and
// hands localforage the promise it expects. A resolved write is committed
// (autocommit, one statement = one transaction, fsynced when FULL).
const run = <T>(fn: () => T): Promise<T> => {
  try {
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.reject(err);
  }
};

const sqliteDriver: LocalForageDriver & RangeDriverExtras = {
  _driver: SQLITE_DRIVER,
  _support: true,
  _initStorage(this: Self, options: LocalForageOptions & SqliteDriverConfig) {
    return run(() => {
      const path = options.name ?? 'localforage.sqlite';
      const conn = connect(path, options.sqliteSynchronous ?? 'FULL', options.sqlitePragmas ?? []);
      const stmts = prepare(conn.db, options.storeName ?? 'keyvaluepairs');
      // One transaction, one commit (one fsync) for the whole batch; any
      // failure rolls every row back.
      const setMany = conn.db.transaction((entries: ReadonlyArray<readonly [string, unknown]>) => {
        for (const [k, v] of entries) stmts.set.run(String(k), encode(v));
      });
      const removeThenSet = conn.db.transaction((remove: Database.Statement<[string]>, otherKey: string, key: string, value: unknown) => {
        remove.run(otherKey);
        stmts.set.run(key, encode(value));
      });
      this._dbInfo = { path, conn, stmts, setMany, removeThenSet, closed: false };
    }) as unknown as void;
  },
  getItem<T>(this: Self, key: string) {
    return run(() => {
      const row = info(this).stmts.get.get(String(key));
      return (row ? decode(row.value) : null) as T | null;
    });
  },
  setItem<T>(this: Self, key: string, value: T) {
    return run(() => {
      info(this).stmts.set.run(String(key), encode(value));
      return value;
    });
  },
  removeItem(this: Self, key: string) {
    return run(() => {
      info(this).stmts.remove.run(String(key));
    });
  },
  clear(this: Self) {
    return run(() => {
      info(this).stmts.clear.run();
    });
  },
  length(this: Self) {
    return run(() => (info(this).stmts.count.get() as { n: number }).n);
  },
  key(this: Self, n: number) {
    return run(() => (info(this).stmts.keyAt.get(n)?.key ?? null) as string);
  },
  keys(this: Self) {
    return run(() => info(this).stmts.keys.all().map((r) => r.key));
  },
  iterate<T, U>(this: Self, iteratee: (value: T, key: string, n: number) => U) {
    return run(() => {
      let n = 1;
      // A lazy cursor: rows are read one by one and the walk stops early.
      for (const row of info(this).stmts.all.iterate()) {
        const r = iteratee(decode(row.value) as T, row.key, n++);
        if (r !== undefined) return r;
      }
      return undefined as unknown as U;
    });
  },
  setItems(this: Self, entries: ReadonlyArray<readonly [string, unknown]>) {
    return run(() => {
      info(this).setMany(entries);
    });
  },
  setAndRemove(this: Self, key: string, value: unknown, other: RangeCapableForage, otherKey: string) {
    return run(() => {
      const mine = info(this);
      const theirs = info(other as Self);
      // Two tables of one file share the connection, hence the transaction.
      if (theirs.conn !== mine.conn) throw new Error('setAndRemove: the other instance is not in the same database');
      mine.removeThenSet(theirs.stmts.remove, String(otherKey), String(key), value);
    });
  },
  readRange(this: Self, afterKey: string | null, limit: number) {
    return run(() => {
      const s = info(this).stmts;
      const rows = afterKey === null ? s.first.all(limit) : s.after.all(afterKey, limit);
      return rows.map((r) => [r.key, decode(r.value)] as const);
    });
  },
  closeInstance(this: Self) {
    return run(() => {
      const i = this._dbInfo;
      if (!i || i.closed) return;
      i.closed = true;
      if (--i.conn.refs === 0) {
        connections.delete(i.path);
        i.conn.db.close();
      }
    });
  },
  dropInstance(this: Self, options?: LocalForageDbInstanceOptions) {
    return run(() => {
      const i = info(this);
      const storeName = options?.storeName ?? (this.config('storeName') as string);
      i.conn.db.exec(`DROP TABLE IF EXISTS "lf_${storeName.replace(/\W/g, '_')}"`);
    });
  },
};

let defined: Promise<void> | undefined;

/**
 * Register the SQLite localforage driver (better-sqlite3, WAL mode,
 * `synchronous=FULL` by default) and return its name. The localforage
 * `name` is the database file path; each `storeName` is a table.
 *
 * @example
 * const driver = await defineSqliteDriver();
 * const forage = localforage.createInstance({ name: './data/app.sqlite', storeName: 'kv', driver });
 */
export async function defineSqliteDriver(): Promise<string> {
  defined ??= localforage.defineDriver(sqliteDriver);
  await defined;
  return SQLITE_DRIVER;
}
