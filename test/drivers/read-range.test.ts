import localforage from 'localforage';
import { readRange } from '../../src/drivers/read-range';
import type { RangeCapableForage } from '../../src/drivers/range-driver';

describe('readRange', () => {
  it('reads an IndexedDB key range without walking the table with iterate', async () => {
    const f = localforage.createInstance({ name: 'rr-idb', storeName: 's', driver: localforage.INDEXEDDB }) as RangeCapableForage;
    for (const k of ['k05', 'k01', 'k03', 'k02', 'k04']) await f.setItem(k, `v${k}`);
    const iterate = jest.spyOn(f, 'iterate');
    expect(await readRange(f, null, 2)).toEqual([['k01', 'vk01'], ['k02', 'vk02']]);
    expect(await readRange(f, 'k02', 2)).toEqual([['k03', 'vk03'], ['k04', 'vk04']]);
    expect(await readRange(f, 'k045', 9)).toEqual([['k05', 'vk05']]);
    expect(await readRange(f, 'k05', 9)).toEqual([]);
    expect(iterate).not.toHaveBeenCalled();
  });

  it('falls back to an early-stopping iterate for drivers without ranges', async () => {
    const entries: Array<[string, string]> = [['a', '1'], ['b', '2'], ['c', '3'], ['d', '4']];
    let visited = 0;
    const fake = {
      driver: () => 'somethingElse',
      iterate: async (cb: (v: string, k: string, n: number) => unknown) => {
        for (const [k, v] of entries) {
          visited++;
          const r = cb(v, k, visited);
          if (r !== undefined) return r;
        }
        return undefined;
      },
    } as unknown as RangeCapableForage;
    expect(await readRange(fake, 'a', 2)).toEqual([['b', '2'], ['c', '3']]);
    expect(visited).toBe(3); // stopped at c, never read d
    expect(await readRange(fake, null, 0)).toEqual([]);
  });
});
