import localforage from 'localforage';
import { defineMemoryDriver, resetMemoryDriver } from '../../src/drivers/memory-driver';
import type { RangeCapableForage } from '../../src/drivers/range-driver';

describe('memory driver', () => {
  let driver: string;
  beforeAll(async () => {
    driver = await defineMemoryDriver();
  });
  const make = (name: string, storeName = 's'): RangeCapableForage =>
    localforage.createInstance({ name, storeName, driver }) as RangeCapableForage;

  it('keeps keys sorted whatever the insertion order, and answers ranges', async () => {
    const f = make('m1');
    for (const k of ['c', 'a', 'e', 'b', 'd']) await f.setItem(k, k.toUpperCase());
    expect(await f.keys()).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(await f.key(1)).toBe('b');
    expect(await f.readRange!(null, 2)).toEqual([['a', 'A'], ['b', 'B']]);
    expect(await f.readRange!('b', 2)).toEqual([['c', 'C'], ['d', 'D']]);
    expect(await f.readRange!('bb', 10)).toEqual([['c', 'C'], ['d', 'D'], ['e', 'E']]);
    await f.removeItem('c');
    await f.setItem('a', 'A2');
    expect(await f.readRange!('a', 10)).toEqual([['b', 'B'], ['d', 'D'], ['e', 'E']]);
    expect(await f.length()).toBe(4);
    expect(await f.getItem('a')).toBe('A2');
  });

  it('stops iterate early and walks in key order', async () => {
    const f = make('m2');
    for (const k of ['3', '1', '2']) await f.setItem(k, Number(k));
    const seen: string[] = [];
    const r = await f.iterate<number, string | undefined>((v, k) => {
      seen.push(k);
      return v === 2 ? 'stop' : undefined;
    });
    expect(r).toBe('stop');
    expect(seen).toEqual(['1', '2']);
  });

  it('shares data between instances of one name/storeName, isolates others, and clones values', async () => {
    const a = make('m3');
    const b = make('m3');
    const other = make('m3', 'other');
    const value = { n: 1 };
    await a.setItem('k', value);
    value.n = 2;
    expect(await b.getItem('k')).toEqual({ n: 1 });
    expect(await other.getItem('k')).toBeNull();
    resetMemoryDriver('m3');
    expect(await make('m3').getItem('k')).toBeNull();
  });
});
