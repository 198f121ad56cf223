import Database from 'better-sqlite3';
import localforage from 'localforage';
import { asyncScheduler, type SchedulerLike } from 'rxjs';
import type { RangeCapableForage, RangeDriverExtras } from '../drivers/range-driver';
import { BusyQueue, retryWhileBusy, type BusyRetry } from './busy-queue';

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
  /**
   * SQLite `busy_timeout`, ms: how long one statement waits, blocking the
   * thread (better-sqlite3 is synchronous), for another process's lock.
   * Default 20; past it the call is retried asynchronously.
   */
  readonly sqliteBusyTimeoutMs?: number;
  /**
   * How long a call keeps being retried while another process holds the
   * database locked, ms, before it rejects with `StorageError('busy')`.
   * Default 5000.
   */
  readonly sqliteBusyRetryMs?: number;
  /** Where the waits between those retries run. Default `asyncScheduler`. */
  readonly sqliteScheduler?: SchedulerLike;
}

/** Defaults of the busy handling in `SqliteDriverConfig`. */
export const SQLITE_BUSY_DEFAULTS = Object.freeze({ busyTimeoutMs: 20, busyRetryMs: 5_000 });

interface Connection {
  readonly db: Database.Database;
  refs: number;
  /** Every call of this connection, in order, retried while busy. */
  readonly calls: BusyQueue;
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
  /** Remove keys from another table, then set entries here: one transaction. */
  readonly removeThenSet: (remove: Database.Statement<[string]>, otherKeys: readonly string[], entries: ReadonlyArray<readonly [string, unknown]>) => void;
  closed: boolean;
}

type Self = LocalForage & { _dbInfo: SqliteDbInfo };

// One connection per database file, shared by the store's four tables.
const connections = new Map<string, Connection>();

interface ConnectOptions {
  readonly synchronous: SqliteSynchronous;
  readonly pragmas: readonly string[];
  readonly busyTimeoutMs: number;
  readonly retry: BusyRetry;
}

// Throws SQLITE_BUSY with nothing left open when another process holds the
// file's lock (e.g. two processes converting a new file to WAL at once: the
// loser gets SQLITE_BUSY at once, without the busy timeout); the caller
// retries asynchronously.
function connect(path: string, o: ConnectOptions): Connection {
  let conn = connections.get(path);
  if (!conn) {
    const db = new Database(path);
    try {
      // Several processes may share the file. A statement waits for another
      // writer at most busy_timeout on the thread; longer waits are the
      // asynchronous retries of `BusyQueue`, so a writer frozen mid-commit
      // (SIGSTOP) never stalls this process's event loop.
      db.pragma(`busy_timeout = ${Math.max(0, Math.floor(o.busyTimeoutMs))}`);
      db.pragma('journal_mode = WAL');
      db.pragma(`synchronous = ${o.synchronous === 'NORMAL' ? 'NORMAL' : 'FULL'}`);
      for (const p of o.pragmas) db.pragma(p);
    } catch (err) {
      db.close();
      throw err;
    }
    conn = { db, refs: 0, calls: new BusyQueue(o.retry) };
    connections.set(path, conn);
  }
  conn.refs++;
  return conn;
}

function release(path: string, conn: Connection): void {
  if (--conn.refs === 0) {
    connections.delete(path);
    conn.db.close();
  }
}

function prepare(db: Database.Database, storeName: string): Statements {
  const table = `"lf_${storeName.replace(/\W/g, '_')}"`;
  // WITHOUT ROWID: the primary key is the row order, so `key > ? ORDER BY
  // key LIMIT ?` is one B-tree seek plus a short scan.
  db.exec(`CREATE TABLE IF NOT EXISTS ${table} (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) WITHOUT ROWID`);
  // Keys only: `COUNT(*)` scans this covering index instead of every row
  // with its sealed value (200,000 pending ops: ~0.5 ms instead of ~150 ms
  // holding the thread). Built once when missing (a file from an older
  // build): one pass over the table at that first open.
  db.exec(`CREATE INDEX IF NOT EXISTS "lf_${storeName.replace(/\W/g, '_')}_keys" ON ${table} (key)`);
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

const closedError = (): Error => Object.assign(new Error('SQLite instance is closed'), { code: 'SQLITE_MISUSE' });

function info(self: Self): SqliteDbInfo {
  const i = self._dbInfo;
  if (i.closed) throw closedError();
  return i;
}

// Values are JSON text, as localforage's localStorage driver does; the store
// only ever writes strings (sealed records).
const encode = (v: unknown): string => JSON.stringify(v === undefined ? null : v);
const decode = (s: string): unknown => JSON.parse(s) as unknown;

// better-sqlite3 is synchronous; each method runs its statement at once and
// hands localforage the promise it expects — unless another process holds
// the lock, when the connection's `BusyQueue` retries it asynchronously
// (later calls wait behind it, in order). A resolved write is committed
// (autocommit, one statement = one transaction, fsynced when FULL); a call
// that met SQLITE_BUSY changed nothing, so retrying it is safe.
const run = <T>(self: Self, fn: (i: SqliteDbInfo) => T): Promise<T> => {
  const i = self._dbInfo;
  if (!i || i.closed) return Promise.reject(closedError());
  return i.conn.calls.run(() => fn(info(self)));
};

/**
 * Every entry set in this table and every key of `otherKeys` removed from
 * `other`'s, in one transaction: all of it (one commit, one fsync) or
 * none. Two tables of one file share the connection, hence the transaction.
 */
function setAllAndRemove(this: Self, entries: ReadonlyArray<readonly [string, unknown]>, other: RangeCapableForage, otherKeys: readonly string[]): Promise<void> {
  return run(this, (mine) => {
    const theirs = info(other as Self);
    if (theirs.conn !== mine.conn) throw new Error('setAndRemove: the other instance is not in the same database');
    mine.removeThenSet(theirs.stmts.remove, otherKeys, entries);
  });
}

const sqliteDriver: LocalForageDriver & RangeDriverExtras = {
  _driver: SQLITE_DRIVER,
  _support: true,
  _initStorage(this: Self, options: LocalForageOptions & SqliteDriverConfig) {
    const path = options.name ?? 'localforage.sqlite';
    const retry: BusyRetry = {
      scheduler: options.sqliteScheduler ?? asyncScheduler,
      timeoutMs: options.sqliteBusyRetryMs ?? SQLITE_BUSY_DEFAULTS.busyRetryMs,
    };
    const o: ConnectOptions = {
      synchronous: options.sqliteSynchronous ?? 'FULL',
      pragmas: options.sqlitePragmas ?? [],
      busyTimeoutMs: options.sqliteBusyTimeoutMs ?? SQLITE_BUSY_DEFAULTS.busyTimeoutMs,
      retry,
    };
    const attach = (): void => {
      const conn = connect(path, o);
      let stmts: Statements;
      try {
        stmts = prepare(conn.db, options.storeName ?? 'keyvaluepairs');
      } catch (err) {
        release(path, conn);
        throw err;
      }
      // One transaction, one commit (one fsync) for the whole batch; any
      // failure rolls every row back.
      const setMany = conn.db.transaction((entries: ReadonlyArray<readonly [string, unknown]>) => {
        for (const [k, v] of entries) stmts.set.run(String(k), encode(v));
      });
      const removeThenSet = conn.db.transaction(
        (remove: Database.Statement<[string]>, otherKeys: readonly string[], entries: ReadonlyArray<readonly [string, unknown]>) => {
          for (const k of otherKeys) remove.run(String(k));
          for (const [k, v] of entries) stmts.set.run(String(k), encode(v));
        },
      );
      this._dbInfo = { path, conn, stmts, setMany, removeThenSet, closed: false };
    };
    // Behind the calls of an open connection to the same file, if any.
    const open = connections.get(path);
    return (open ? open.calls.run(attach) : retryWhileBusy(attach, retry)) as unknown as void;
  },
  getItem<T>(this: Self, key: string) {
    return run(this, (i) => {
      const row = i.stmts.get.get(String(key));
      return (row ? decode(row.value) : null) as T | null;
    });
  },
  setItem<T>(this: Self, key: string, value: T) {
    return run(this, (i) => {
      i.stmts.set.run(String(key), encode(value));
      return value;
    });
  },
  removeItem(this: Self, key: string) {
    return run(this, (i) => {
      i.stmts.remove.run(String(key));
    });
  },
  clear(this: Self) {
    return run(this, (i) => {
      i.stmts.clear.run();
    });
  },
  length(this: Self) {
    return run(this, (i) => (i.stmts.count.get() as { n: number }).n);
  },
  key(this: Self, n: number) {
    return run(this, (i) => (i.stmts.keyAt.get(n)?.key ?? null) as string);
  },
  keys(this: Self) {
    return run(this, (i) => i.stmts.keys.all().map((r) => r.key));
  },
  iterate<T, U>(this: Self, iteratee: (value: T, key: string, n: number) => U) {
    return run(this, (i) => {
      let n = 1;
      // A lazy cursor: rows are read one by one and the walk stops early.
      for (const row of i.stmts.all.iterate()) {
        const r = iteratee(decode(row.value) as T, row.key, n++);
        if (r !== undefined) return r;
      }
      return undefined as unknown as U;
    });
  },
  setItems(this: Self, entries: ReadonlyArray<readonly [string, unknown]>) {
    return run(this, (i) => {
      i.setMany(entries);
    });
  },
  setAndRemove(this: Self, key: string, value: unknown, other: RangeCapableForage, otherKey: string) {
    return setAllAndRemove.call(this, [[key, value]], other, [otherKey]);
  },
  setAllAndRemove,
  readRange(this: Self, afterKey: string | null, limit: number) {
    return run(this, (i) => {
      const s = i.stmts;
      const rows = afterKey === null ? s.first.all(limit) : s.after.all(afterKey, limit);
      return rows.map((r) => [r.key, decode(r.value)] as const);
    });
  },
  closeInstance(this: Self) {
    const i = this._dbInfo;
    if (!i || i.closed) return Promise.resolve();
    // After the calls already queued on the connection.
    return i.conn.calls.run(() => {
      if (i.closed) return;
      i.closed = true;
      release(i.path, i.conn);
    });
  },
  dropInstance(this: Self, options?: LocalForageDbInstanceOptions) {
    return run(this, (i) => {
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
