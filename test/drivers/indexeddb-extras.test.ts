import localforage from 'localforage';
import { addIndexedDbExtras, idbHandle } from '../../src/drivers/indexeddb-extras';
import { defineMemoryDriver } from '../../src/drivers/memory-driver';
import type { RangeCapableForage } from '../../src/drivers/range-driver';

// localforage's IndexedDB driver over fake-indexeddb (jest setupFiles).
let seq = 0;

/** Two tables of one fresh database, ready, the first with the extras. */
async function tables(): Promise<{ ledger: RangeCapableForage; pending: RangeCapableForage }> {
  const name = `idb-extras-${++seq}`;
  const ledger = localforage.createInstance({ name, storeName: 'ledger', driver: localforage.INDEXEDDB }) as RangeCapableForage;
  await ledger.ready();
  const pending = localforage.createInstance({ name, storeName: 'pending', driver: localforage.INDEXEDDB }) as RangeCapableForage;
  await pending.ready();
  // The upgrade that created `pending` swapped the connection: as openTables does.
  await Promise.all([ledger.key(0), pending.key(0)]);
  return { ledger: addIndexedDbExtras(ledger), pending: addIndexedDbExtras(pending) };
}

/** Every transaction opened on any connection while `fn` runs, with its scope and mode. */
async function transactionsDuring(fn: () => Promise<unknown>): Promise<Array<{ stores: string[]; mode: string }>> {
  const seen: Array<{ stores: string[]; mode: string }> = [];
  const original = IDBDatabase.prototype.transaction;
  const spy = jest.spyOn(IDBDatabase.prototype, 'transaction').mockImplementation(function (this: IDBDatabase, ...args) {
    const tx = original.apply(this, args);
    seen.push({ stores: Array.from(tx.objectStoreNames), mode: tx.mode });
    return tx;
  });
  try {
    await fn();
  } finally {
    spy.mockRestore();
  }
  return seen;
}

describe('IndexedDB extras (localforage IndexedDB driver, fake-indexeddb)', () => {
  afterEach(() => jest.restoreAllMocks());

  it('setAndRemove writes the entry and removes the other key in one read-write transaction over both object stores', async () => {
    const { ledger, pending } = await tables();
    await pending.setItem('op1', 'sealed op 1');
    await pending.setItem('op2', 'sealed op 2');

    const txs = await transactionsDuring(() => ledger.setAndRemove!('key1', 'sealed entry', pending, 'op1'));
    expect(txs).toEqual([{ stores: ['ledger', 'pending'], mode: 'readwrite' }]);
    // In localforage's layout: its own reads see the result.
    expect(await ledger.getItem('key1')).toBe('sealed entry');
    expect(await pending.keys()).toEqual(['op2']);
  });

  it('a transaction aborted after both requests were issued (a crash before commit) leaves both object stores untouched', async () => {
    const { ledger, pending } = await tables();
    await pending.setItem('op1', 'sealed op 1');
    const original = IDBDatabase.prototype.transaction;
    jest.spyOn(IDBDatabase.prototype, 'transaction').mockImplementation(function (this: IDBDatabase, ...args) {
      const tx = original.apply(this, args);
      // Runs after the (synchronous) put and delete were issued, before any commit.
      queueMicrotask(() => tx.abort());
      return tx;
    });
    await expect(ledger.setAndRemove!('key1', 'sealed entry', pending, 'op1')).rejects.toMatchObject({ name: 'AbortError' });
    jest.restoreAllMocks();
    expect(await ledger.getItem('key1')).toBeNull();
    expect(await pending.getItem('op1')).toBe('sealed op 1');
  });

  it('a value IndexedDB cannot store fails setAndRemove before the removal: nothing changes', async () => {
    const { ledger, pending } = await tables();
    await pending.setItem('op1', 'sealed op 1');
    await expect(ledger.setAndRemove!('key1', { f: () => 1 }, pending, 'op1')).rejects.toMatchObject({ name: 'DataCloneError' });
    expect(await ledger.length()).toBe(0);
    expect(await pending.keys()).toEqual(['op1']);
  });

  it('refuses an instance of another database', async () => {
    const { ledger } = await tables();
    const { pending: elsewhere } = await tables();
    await elsewhere.setItem('op1', 'x');
    await expect(ledger.setAndRemove!('key1', 'entry', elsewhere, 'op1')).rejects.toThrow('not in the same database');
    expect(await elsewhere.keys()).toEqual(['op1']);
  });

  it('setItems writes a batch in one transaction, all or nothing', async () => {
    const { pending } = await tables();
    const txs = await transactionsDuring(() => pending.setItems!([['a', 'A'], ['b', 'B'], ['c', null]]));
    expect(txs).toEqual([{ stores: ['pending'], mode: 'readwrite' }]);
    expect(await pending.keys()).toEqual(['a', 'b', 'c']);
    expect(await pending.getItem('c')).toBeNull();

    await expect(pending.setItems!([['d', 'D'], ['e', { f: () => 1 }]])).rejects.toMatchObject({ name: 'DataCloneError' });
    expect(await pending.keys()).toEqual(['a', 'b', 'c']);
  });

  it('reconnects through localforage when the shared connection was closed under it (versionchange from another tab)', async () => {
    const { ledger, pending } = await tables();
    await pending.setItem('op1', 'sealed op 1');
    idbHandle(ledger)!.db.close();
    await ledger.setAndRemove!('key1', 'sealed entry', pending, 'op1');
    expect(await ledger.getItem('key1')).toBe('sealed entry');
    expect(await pending.keys()).toEqual([]);
    idbHandle(pending)!.db.close();
    await pending.setItems!([['op2', 'x']]);
    expect(await pending.keys()).toEqual(['op2']);
  });

  it('leaves an instance of any other driver as it is', async () => {
    const f = localforage.createInstance({ name: 'idb-extras-mem', storeName: 's', driver: await defineMemoryDriver() }) as RangeCapableForage;
    await f.ready();
    const before = f.setAndRemove;
    expect(addIndexedDbExtras(f)).toBe(f);
    expect(f.setAndRemove).toBe(before);
  });
});
