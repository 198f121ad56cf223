/**
 * Bundled by esbuild for the real-IndexedDB completion test: the store's
 * one-transaction `complete` on Chromium's IndexedDB, its atomicity under
 * an abort and a renderer crash, and a whole engine draining without a
 * ledger read per op.
 */
import { createSyncEngine } from '../../src/create-sync-engine';
import { createOpStore, type SealedOpStore } from '../../src/store/create-op-store';
import type { PendingOp } from '../../src/op/pending-op';
import { todoCreateRoutes as routes, freshTodoOp } from './entry-fixtures';

const makeOp = (n: number): PendingOp => freshTodoOp(n, { id: `t-${n}`, title: `todo ${n}` });

/** Every read-write transaction opened while `fn` runs (scope and mode); `abort` aborts each right after its requests are issued. */
async function watchTransactions<A>(fn: () => Promise<A>, abort = false): Promise<{ txs: Array<{ stores: string[]; mode: string }>; result: PromiseSettledResult<A> }> {
  const txs: Array<{ stores: string[]; mode: string }> = [];
  const original = IDBDatabase.prototype.transaction;
  IDBDatabase.prototype.transaction = function (this: IDBDatabase, ...args: Parameters<typeof original>) {
    const tx = original.apply(this, args);
    // Writes only: the ledger prune's background reads are not the point.
    if (tx.mode === 'readwrite') txs.push({ stores: Array.from(tx.objectStoreNames), mode: tx.mode });
    if (abort) queueMicrotask(() => tx.abort());
    return tx;
  } as typeof original;
  try {
    const [result] = await Promise.allSettled([fn()]);
    return { txs, result: result as PromiseSettledResult<A> };
  } finally {
    IDBDatabase.prototype.transaction = original;
  }
}

/** complete on real IndexedDB: one read-write transaction over both object stores; aborted, it changes nothing. */
async function completeOnce(name: string): Promise<unknown> {
  const store = await createOpStore({ name });
  const [a, b] = [makeOp(1), makeOp(2)];
  await store.append(a);
  await store.append(b);
  const done = await watchTransactions(() => store.complete(a, Date.now()));
  const aborted = await watchTransactions(() => store.complete(b, Date.now()), true);
  const out = {
    completesAtomically: store.completesAtomically,
    completeTxs: done.txs,
    completed: done.result.status,
    abortedCall: aborted.result.status === 'rejected' ? (aborted.result.reason as { name?: string; code?: string }).code : 'fulfilled',
    pending: (await store.peek(10)).map((o) => o.txToken),
    aInLedger: await store.isCompleted(a.idempotencyKey),
    bInLedger: await store.isCompleted(b.idempotencyKey),
  };
  await store.close();
  return out;
}

/** completeAll on real IndexedDB: one read-write transaction for several ops; aborted, it changes nothing. */
async function completeAllOnce(name: string): Promise<unknown> {
  const store = await createOpStore({ name });
  const ops = [1, 2, 3, 4, 5, 6].map(makeOp);
  for (const op of ops) await store.append(op);
  const now = Date.now();
  const done = await watchTransactions(() => store.completeAll!(ops.slice(0, 3).map((op) => ({ op, completedAt: now }))));
  const aborted = await watchTransactions(() => store.completeAll!(ops.slice(3, 5).map((op) => ({ op, completedAt: now }))), true);
  const inLedger = await Promise.all(ops.map((op) => store.isCompleted(op.idempotencyKey)));
  const out = {
    completeTxs: done.txs,
    completed: done.result.status,
    abortedCall: aborted.result.status === 'rejected' ? (aborted.result.reason as { code?: string }).code : 'fulfilled',
    pending: (await store.peek(10)).map((o) => o.txToken),
    inLedger,
  };
  await store.close();
  return out;
}

let queued: { store: SealedOpStore; ops: readonly PendingOp[] } | undefined;

/** Queue `n` ops (in one group commit). */
async function queueOps(name: string, n: number): Promise<Array<{ id: string; key: string }>> {
  const store = await createOpStore({ name });
  const ops = Array.from({ length: n }, (_, i) => makeOp(i));
  await Promise.all(ops.map((op) => store.append(op)));
  queued = { store, ops };
  return ops.map((op) => ({ id: op.id, key: op.idempotencyKey }));
}

/**
 * Start completing the queued ops one after another — `group` at a time
 * with `completeAll` when above 1 — and return at once (the test crashes
 * the renderer meanwhile).
 */
function startCompleting(group = 1): void {
  const { store, ops } = queued!;
  void (async () => {
    for (let i = 0; i < ops.length; i += group) {
      const some = ops.slice(i, i + group);
      if (group === 1) await store.complete(some[0]!, Date.now());
      else await store.completeAll!(some.map((op) => ({ op, completedAt: Date.now() })));
    }
  })();
}

/** Every key of one object store, read raw (no store open: an open would repair what it finds). */
function rawKeys(name: string, storeName: string): Promise<Set<string>> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(name);
    req.onerror = () => reject(req.error);
    req.onsuccess = () => {
      const db = req.result;
      const keys = db.transaction(storeName, 'readonly').objectStore(storeName).getAllKeys();
      keys.onerror = () => reject(keys.error);
      keys.onsuccess = () => {
        db.close();
        resolve(new Set(keys.result.map(String)));
      };
    };
  });
}

/** After the crash, from the raw object stores: where each op is (pending, in the ledger, both or neither). */
async function whereAre(name: string, ops: ReadonlyArray<{ id: string; key: string }>): Promise<{ pending: number; completed: number; both: number; neither: number }> {
  const pendingIds = await rawKeys(name, 'pending_ops');
  const ledgerKeys = await rawKeys(name, 'idempotency_ledger');
  const tally = { pending: 0, completed: 0, both: 0, neither: 0 };
  for (const op of ops) {
    const p = pendingIds.has(op.id);
    const c = ledgerKeys.has(op.key);
    if (p && c) tally.both += 1;
    else if (p) tally.pending += 1;
    else if (c) tally.completed += 1;
    else tally.neither += 1;
  }
  return tally;
}

/** A whole engine on IndexedDB draining `n` ops: how many committed, and how often it asked the ledger. */
async function drain(name: string, n: number): Promise<{ committed: number; other: number; ledgerReads: number; completeTxs: number }> {
  const store = await createOpStore({ name });
  let ledgerReads = 0;
  const isCompleted = store.isCompleted.bind(store);
  store.isCompleted = (key: string) => {
    ledgerReads += 1;
    return isCompleted(key);
  };
  const engine = createSyncEngine({
    baseUrl: location.origin,
    routes,
    store,
    auth: { getToken: async () => 'test-token', refreshToken: async () => 'test-token' },
  });
  let committed = 0;
  let other = 0;
  const all = new Promise<void>((resolve) => {
    engine.results$.subscribe((r) => {
      if (r.outcome === 'committed') committed += 1;
      else other += 1;
      if (committed + other === n) resolve();
    });
  });
  for (let i = 0; i < n; i++) await engine.enqueue({ type: 'todo.create', payload: { id: `d-${i}`, title: `todo ${i}` } });
  const watched = await watchTransactions(async () => {
    engine.start();
    await all;
  });
  await engine.dispose();
  await store.close();
  const completeTxs = watched.txs.filter((t) => t.stores.join('+') === 'idempotency_ledger+pending_ops').length;
  return { committed, other, ledgerReads, completeTxs };
}

const idbCompletionTest = { completeOnce, completeAllOnce, queueOps, startCompleting, whereAre, drain };
(globalThis as unknown as { idbCompletionTest: typeof idbCompletionTest }).idbCompletionTest = idbCompletionTest;
export type IdbCompletionApi = typeof idbCompletionTest;
