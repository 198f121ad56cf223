/**
 * Bundled by esbuild for the real-browser test: exercises the store on
 * Chromium's IndexedDB with Web Crypto and the default device key.
 */
import localforage from 'localforage';
import { createOpStore } from '../../src/store/create-op-store';
import type { PendingOp } from '../../src/op/pending-op';
import { freshTodoOp } from './entry-fixtures';

const MARKER = 'plaintext-marker-7d1c';

const makeOp = (n: number): PendingOp => freshTodoOp(n, { title: `${MARKER}-${n}` });

async function rawValues(): Promise<string> {
  const raw = localforage.createInstance({ name: 'browser-test', storeName: 'pending_ops' });
  const values: unknown[] = [];
  await raw.iterate((v) => {
    values.push(v);
  });
  return JSON.stringify(values);
}

/** First page load: write three ops, complete one. */
async function write(): Promise<unknown> {
  const store = await createOpStore({ name: 'browser-test' });
  const ops = [makeOp(1), makeOp(2), makeOp(3)];
  for (const op of ops) await store.append(op);
  await store.complete(ops[0], 0);
  const head = await store.peek(10);
  const raw = await rawValues();
  await store.close();
  return {
    secure: globalThis.isSecureContext,
    titles: head.map((o) => (o.payload as { title: string }).title),
    rawHasPlaintext: raw.includes(MARKER),
    rawLength: raw.length,
  };
}

/** After a reload: the device key survives, the queue reads back in order. */
async function reopen(): Promise<unknown> {
  const store = await createOpStore({ name: 'browser-test' });
  const head = await store.peek(10);
  const counts = await store.counts();
  await store.close();
  return { titles: head.map((o) => (o.payload as { title: string }).title), counts };
}

(globalThis as { storeTest?: unknown }).storeTest = { write, reopen };
