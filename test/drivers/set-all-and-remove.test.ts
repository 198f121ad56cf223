import localforage from 'localforage';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineMemoryDriver } from '../../src/drivers/memory-driver';
import { defineSqliteDriver } from '../../src/node/sqlite-driver';
import type { RangeCapableForage } from '../../src/drivers/range-driver';
import { addIndexedDbExtras } from '../../src/drivers/indexeddb-extras';

const same = (f: RangeCapableForage): RangeCapableForage => f;

/**
 * The drivers with `setAllAndRemove` (IndexedDB: localforage's driver with
 * the store's extras, on fake-indexeddb), and a value each cannot store
 * (JSON text vs structured clone).
 */
const drivers = [
  { label: 'memory driver', define: defineMemoryDriver, extras: same, unstorable: { f: () => 1 } as unknown },
  { label: 'SQLite driver', define: defineSqliteDriver, extras: same, unstorable: 10n as unknown },
  { label: 'IndexedDB driver', define: async () => localforage.INDEXEDDB, extras: addIndexedDbExtras, unstorable: { f: () => 1 } as unknown },
];

let seq = 0;

describe.each(drivers)('setAllAndRemove on the $label', ({ define, extras, unstorable }) => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sync-engine-move-all-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const open: RangeCapableForage[] = [];
  afterEach(async () => {
    for (const f of open.splice(0)) await f.closeInstance?.();
  });

  async function tables() {
    const driver = await define();
    const name = join(dir, `move-all-${++seq}.db`);
    const ledger = localforage.createInstance({ name, storeName: 'ledger', driver }) as RangeCapableForage;
    const pending = localforage.createInstance({ name, storeName: 'pending', driver }) as RangeCapableForage;
    await ledger.ready();
    await pending.ready();
    open.push(ledger, pending);
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
