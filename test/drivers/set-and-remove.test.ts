import localforage from 'localforage';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineMemoryDriver } from '../../src/drivers/memory-driver';
import type { RangeCapableForage } from '../../src/drivers/range-driver';
import { defineSqliteDriver } from '../../src/node/sqlite-driver';
import { addIndexedDbExtras } from '../../src/drivers/indexeddb-extras';

const same = (f: RangeCapableForage): RangeCapableForage => f;

/**
 * The drivers with `setAndRemove` (IndexedDB: localforage's driver with the
 * store's extras, on fake-indexeddb), and a value each cannot store (JSON
 * text vs structured clone).
 */
const drivers = [
  { label: 'memory driver', define: defineMemoryDriver, extras: same, unstorable: { f: () => 1 } as unknown },
  { label: 'SQLite driver', define: defineSqliteDriver, extras: same, unstorable: 10n as unknown },
  { label: 'IndexedDB driver', define: async () => localforage.INDEXEDDB, extras: addIndexedDbExtras, unstorable: { f: () => 1 } as unknown },
];

describe.each(drivers)('setAndRemove on the $label', ({ define, extras, unstorable }) => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sync-engine-move-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('sets in one table and removes from another of the same database: both or neither', async () => {
    const driver = await define();
    const name = join(dir, 'move.db');
    const ledger = localforage.createInstance({ name, storeName: 'ledger', driver }) as RangeCapableForage;
    const pending = localforage.createInstance({ name, storeName: 'pending', driver }) as RangeCapableForage;
    await ledger.ready();
    await pending.ready();
    extras(ledger);
    await pending.setItem('op1', 'sealed op');
    await pending.setItem('op2', 'sealed op 2');

    await ledger.setAndRemove!('key1', 'sealed entry', pending, 'op1');
    expect(await ledger.getItem('key1')).toBe('sealed entry');
    expect(await pending.keys()).toEqual(['op2']);

    // A value the driver cannot store fails the call, and nothing is removed.
    await expect(ledger.setAndRemove!('key2', unstorable, pending, 'op2')).rejects.toThrow();
    expect(await ledger.getItem('key2')).toBeNull();
    expect(await pending.keys()).toEqual(['op2']);
    await ledger.closeInstance?.();
    await pending.closeInstance?.();
  });
});
