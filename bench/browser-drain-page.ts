/**
 * The page of `bench/browser-drain.bench.ts`, bundled by esbuild: a whole
 * engine on Chromium's IndexedDB (default device key, default options)
 * against the bench server of the page's own origin, and the limits it is
 * measured against from the same page — a raw IndexedDB `put` and a raw
 * sequential `fetch` loop.
 */
import { of } from 'rxjs';
import type { ProcessorLock } from '../src/lock/processor-lock';
import { createSyncEngine } from '../src/create-sync-engine';
import { createOpStore, type SealedOpStore } from '../src/store/create-op-store';
import { createOpId } from '../src/op/ids';
import { defineMemoryDriver, resetMemoryDriver } from '../src/drivers/memory-driver';
import { generateStoreKey } from '../src/crypto/record-cipher';
import { todoCreateRoutes as routes } from '../test/browser/entry-fixtures';

const TOKEN = 'bench-token';

/** Scope and mode of every IndexedDB transaction opened during the current drain. */
const transactions: string[] = [];
const originalTransaction = IDBDatabase.prototype.transaction;
IDBDatabase.prototype.transaction = function (this: IDBDatabase, ...args: Parameters<typeof originalTransaction>) {
  const tx = originalTransaction.apply(this, args);
  transactions.push(`${tx.mode} ${Array.from(tx.objectStoreNames).join('+')}`);
  return tx;
} as typeof originalTransaction;

/** The last drain's IndexedDB transactions by scope and mode. */
function transactionCounts(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of transactions) out[t] = (out[t] ?? 0) + 1;
  return out;
}

/** Request timeline of the current drain (engine or raw loop): when each request started and when its response came. */
let timeline: Array<{ start: number; end: number }> = [];
const timedFetch: typeof fetch = async (input, init) => {
  const entry = { start: performance.now(), end: 0 };
  timeline.push(entry);
  const res = await fetch(input, init);
  entry.end = performance.now();
  return res;
};

/** A lock always held by this page and never fenced (diagnostic: the engine without the fence's per-op reads). */
const unfencedLock: ProcessorLock = {
  hold: () => of({ held: true, fencingToken: 1, takeover: false }),
  release: () => of(true),
};

const makeEngine = (store: SealedOpStore, unfenced = false) =>
  createSyncEngine({
    ...(unfenced ? { lock: unfencedLock } : {}),
    baseUrl: location.origin,
    routes,
    store,
    auth: { getToken: async () => TOKEN, refreshToken: async () => TOKEN },
    // The browser's fetch, timed (two clock reads per request).
    fetch: timedFetch,
  });
type Engine = ReturnType<typeof makeEngine>;

const payloadOf = (i: number) => ({ id: `b-${i}`, title: `bench todo ${i}` });

let current: { store: SealedOpStore; engine: Engine; startedAt: number; firstSendAt: number; results: number; onResult?: () => void } | undefined;

/**
 * Open a store named `name` and an engine on it (not started). `memory`:
 * the in-memory driver instead of IndexedDB (the pipeline without the
 * storage, for comparison), with a fresh key.
 */
async function open(name: string, memory = false, unfenced = false): Promise<void> {
  const store = memory
    ? await createOpStore({ name, driver: await defineMemoryDriver(), encryptionKey: await generateStoreKey() })
    : await createOpStore({ name });
  const engine = makeEngine(store, unfenced);
  const c = { store, engine, startedAt: 0, firstSendAt: 0, results: 0, onResult: undefined as (() => void) | undefined };
  engine.events$.subscribe((e) => {
    if (e.type === 'attemptStarted' && c.firstSendAt === 0) c.firstSendAt = performance.now();
  });
  engine.results$.subscribe(() => {
    c.results += 1;
    c.onResult?.();
  });
  current = c;
}

function start(): void {
  current!.startedAt = performance.now();
  current!.engine.start();
}

/** ms from `start()` to the engine's first send. */
async function startToFirstSend(): Promise<number> {
  while (current!.firstSendAt === 0) await new Promise((r) => setTimeout(r, 5));
  return current!.firstSendAt - current!.startedAt;
}

async function close(): Promise<void> {
  if (!current) return;
  await current.engine.dispose();
  await current.store.close();
  current = undefined;
  // A memory store outlives close (so a test can reopen it): drop it.
  resetMemoryDriver();
}

/** Enqueue `n` ops, `parallel` at a time (untimed fill). */
async function fill(n: number, parallel = 200): Promise<void> {
  const { engine } = current!;
  for (let i = 0; i < n; i += parallel) {
    const batch: Array<Promise<unknown>> = [];
    for (let j = i; j < Math.min(n, i + parallel); j++) batch.push(engine.enqueue({ type: 'todo.create', payload: payloadOf(j) }));
    await Promise.all(batch);
  }
}

/** Durations of `n` enqueues one after another, ms. */
async function enqueueTimes(n: number): Promise<number[]> {
  const { engine } = current!;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await engine.enqueue({ type: 'todo.create', payload: payloadOf(i) });
    out.push(performance.now() - t0);
  }
  return out;
}

/** The length of one stored (sealed) pending record, as IndexedDB holds it. */
function recordLength(name: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(name);
    req.onerror = () => reject(req.error);
    req.onsuccess = () => {
      const db = req.result;
      const cursor = db.transaction('pending_ops', 'readonly').objectStore('pending_ops').openCursor();
      cursor.onsuccess = () => {
        db.close();
        resolve(String(cursor.result?.value ?? '').length);
      };
      cursor.onerror = () => reject(cursor.error);
    };
  });
}

let rawDb: Promise<IDBDatabase> | undefined;
let rawSeq = 0;

/** Durations of `n` raw IndexedDB puts (one transaction each, awaited), of a `size`-character string, ms. */
async function rawPutTimes(n: number, size: number): Promise<number[]> {
  rawDb ??= new Promise((resolve, reject) => {
    const req = indexedDB.open('raw-put-bench', 1);
    req.onupgradeneeded = () => req.result.createObjectStore('s');
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
  const db = await rawDb;
  const value = 'x'.repeat(size);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await new Promise<void>((resolve, reject) => {
      const tx = db.transaction('s', 'readwrite');
      tx.objectStore('s').put(value, `k${String(++rawSeq).padStart(10, '0')}`);
      tx.oncomplete = () => resolve();
      tx.onabort = () => reject(tx.error);
    });
    out.push(performance.now() - t0);
  }
  return out;
}

/**
 * The engine drains what is queued (`lead + n` ops): ops/s between the
 * `lead`-th and the `(lead + n)`-th result (the steady drain, not the
 * start-up).
 */
async function drain(lead: number, n: number): Promise<number> {
  const c = current!;
  const base = c.results;
  timeline = [];
  transactions.length = 0;
  let t0 = 0;
  const done = new Promise<number>((resolve) => {
    c.onResult = () => {
      const k = c.results - base;
      if (k === lead) t0 = performance.now();
      if (k === lead + n) resolve(n / ((performance.now() - t0) / 1000));
    };
  });
  start();
  const rate = await done;
  c.onResult = undefined;
  return rate;
}

/** The same requests sent by a raw sequential `fetch` loop: ops/s over the `n` after `lead`. */
async function rawLoop(lead: number, n: number): Promise<number> {
  timeline = [];
  let t0 = performance.now();
  for (let i = 0; i < lead + n; i++) {
    if (i === lead) t0 = performance.now();
    const res = await timedFetch(`${location.origin}/todos`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${TOKEN}`,
        'Idempotency-Key': crypto.randomUUID(),
        'Trace-Id': crypto.randomUUID(),
        'Content-Type': 'application/json',
        Accept: 'application/json',
      },
      body: JSON.stringify(payloadOf(i)),
    });
    const body = (await res.json()) as { data?: unknown };
    if (res.status !== 201 || body.data === undefined) throw new Error(`raw loop: unexpected ${res.status}`);
  }
  return n / ((performance.now() - t0) / 1000);
}

/** Durations of `n` Web Crypto AES-GCM encryptions of `size` bytes (what sealing one record costs), ms. */
async function sealTimes(n: number, size: number): Promise<number[]> {
  const key = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt']);
  const data = new Uint8Array(size);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await crypto.subtle.encrypt({ name: 'AES-GCM', iv: crypto.getRandomValues(new Uint8Array(12)) }, key, data);
    out.push(performance.now() - t0);
  }
  return out;
}

/** Durations of `n` `store.append` calls one after another (no engine), ms. */
async function appendTimes(n: number): Promise<number[]> {
  const { store, engine } = current!;
  const ops = [];
  for (let i = 0; i < n; i++) ops.push(await engine.enqueue({ type: 'todo.create', payload: payloadOf(i) }));
  // Re-append the same ops under new ids: the store's own cost.
  const out: number[] = [];
  for (const op of ops) {
    const again = { ...op, id: createOpId() };
    const t0 = performance.now();
    await store.append(again);
    out.push(performance.now() - t0);
  }
  return out;
}

/**
 * The last drain's (or raw loop's) requests after the first `skip`:
 * median ms from a request's start to its response, and from a response
 * to the next request's start (the client's own time on the critical path).
 */
function requestSplit(skip: number): { requestMs: number; gapMs: number } {
  const t = timeline.slice(skip);
  const med = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  const req = t.map((e) => e.end - e.start);
  const gap = t.slice(1).map((e, i) => e.start - (t[i] as { end: number }).end);
  return { requestMs: med(req), gapMs: med(gap) };
}

const drainBench = { transactionCounts, sealTimes, appendTimes, requestSplit, open, start, startToFirstSend, close, fill, enqueueTimes, recordLength, rawPutTimes, drain, rawLoop };
(globalThis as unknown as { drainBench: typeof drainBench }).drainBench = drainBench;
/** What the bench calls in the page. */
export type DrainBenchPage = typeof drainBench;
