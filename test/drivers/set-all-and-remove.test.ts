import localforage from 'localforage';
import { defineMemoryDriver } from '../../src/drivers/memory-driver';
import type { RangeCapableForage } from '../../src/drivers/range-driver';
import { addIndexedDbExtras } from '../../src/drivers/indexeddb-extras';

const same = (f: RangeCapableForage): RangeCapableForage => f;

/** The drivers with `setAllAndRemove` (IndexedDB: localforage's driver with the store's extras, on fake-indexeddb). */
const drivers = [
  { label: 'memory driver', define: defineMemoryDriver, extras: same },
  { label: 'IndexedDB driver', define: async () => localforage.INDEXEDDB, extras: addIndexedDbExtras },
];

let seq = 0;

describe.each(drivers)('setAllAndRemove on the $label', ({ define, extras }) => {
  async function tables() {
    const driver = await define();
    const name = `move-all-${++seq}`;
    const ledger = localforage.createInstance({ name, storeName: 'ledger', driver }) as RangeCapableForage;
    const pending = localforage.createInstance({ name, storeName: 'pending', driver }) as RangeCapableForage;
    await ledger.ready();
    await pending.ready();
    extras(ledger);
    for (const k of ['op1', 'op2', 'op3', 'op4']) await pending.setItem(k, `sealed ${k}`);
    return { ledger, pending };
  }

  it('sets every entry in one table and removes every key from the other', async () => {
    const { ledger, pending } = await tables();
    await ledger.setAllAndRemove!(
      [
        ['key1', 'entry 1'],
        ['key2', 'entry 2'],
        ['key3', 'entry 3'],
      ],
      pending,
      ['op1', 'op2', 'op3'],
    );
    expect(await ledger.keys()).toEqual(['key1', 'key2', 'key3']);
    expect(await ledger.getItem('key2')).toBe('entry 2');
    expect(await pending.keys()).toEqual(['op4']);
  });

  it('all or nothing: one value it cannot store fails the call, nothing is set and nothing removed', async () => {
    const { ledger, pending } = await tables();
    const unstorable = { f: () => 1 } as unknown;
    await expect(
      ledger.setAllAndRemove!(
        [
          ['key1', 'entry 1'],
          ['key2', unstorable],
        ],
        pending,
        ['op1', 'op2'],
      ),
    ).rejects.toThrow();
    expect(await ledger.keys()).toEqual([]);
    expect(await pending.keys()).toEqual(['op1', 'op2', 'op3', 'op4']);
  });
});
