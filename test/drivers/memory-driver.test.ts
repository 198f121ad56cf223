import fc from 'fast-check';
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

  it('agrees with a sorted model under queue use (appends at the end, removals at the head) mixed with random writes', async () => {
    // Long runs of head removals exercise the O(1) head path and its compaction.
    const cmd = fc.oneof(
      fc.record({ t: fc.constant('append' as const), n: fc.integer({ min: 1, max: 3000 }) }),
      fc.record({ t: fc.constant('shift' as const), n: fc.integer({ min: 1, max: 3000 }) }),
      fc.record({ t: fc.constant('set' as const), k: fc.string({ maxLength: 3 }) }),
      fc.record({ t: fc.constant('remove' as const), k: fc.string({ maxLength: 3 }) }),
    );
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(cmd, { maxLength: 12 }), async (cmds) => {
        const f = make(`model-${run++}`);
        const model = new Map<string, string>();
        let seq = 0;
        const sorted = () => [...model.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
        for (const c of cmds) {
          if (c.t === 'append') {
            for (let i = 0; i < c.n; i++) {
              const k = `q${String(seq++).padStart(6, '0')}`;
              model.set(k, k);
              await f.setItem(k, k);
            }
          } else if (c.t === 'shift') {
            for (const k of sorted().slice(0, c.n)) {
              model.delete(k);
              await f.removeItem(k);
            }
          } else if (c.t === 'set') {
            model.set(c.k, `v${c.k}`);
            await f.setItem(c.k, `v${c.k}`);
          } else {
            model.delete(c.k);
            await f.removeItem(c.k);
          }
        }
        const keys = sorted();
        expect(await f.keys()).toEqual(keys);
        expect(await f.length()).toBe(keys.length);
        expect(await f.key(0)).toBe(keys[0] ?? null);
        expect(await f.key(keys.length - 1)).toBe(keys[keys.length - 1] ?? null);
        const after = keys[Math.floor(keys.length / 2)] ?? null;
        const expected = keys.filter((k) => after === null || k > after).slice(0, 5);
        expect((await f.readRange!(after, 5)).map(([k]) => k)).toEqual(expected);
        await f.dropInstance();
      }),
      {
        numRuns: 40,
        // Always include long runs through the head path and its compaction.
        examples: [
          [[{ t: 'append', n: 3000 }, { t: 'shift', n: 2000 }, { t: 'append', n: 10 }, { t: 'set', k: 'a' }, { t: 'shift', n: 1001 }]],
          [[{ t: 'append', n: 1500 }, { t: 'set', k: 'zz' }, { t: 'shift', n: 1500 }, { t: 'remove', k: 'zz' }, { t: 'append', n: 3 }]],
          [[{ t: 'append', n: 2048 }, { t: 'shift', n: 1024 }]],
          [[{ t: 'append', n: 3000 }, { t: 'shift', n: 1500 }, { t: 'set', k: 'q0015000' }]],
        ],
      },
    );
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
