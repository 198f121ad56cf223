import { pickReady, type PackLimits } from '../../streams/pick-ready';
import type { PendingOp } from '../../src/op/pending-op';
import { pendingOp } from '../support/op-fixture';

/** `a1` → an op of key `a`, named `a1`. */
const op = (name: string, over: Partial<PendingOp> = {}): PendingOp => pendingOp({ id: name as PendingOp['id'], payload: { name }, ...over });
const keyOf = (o: PendingOp): string => (o.payload as { name: string }).name.slice(0, 1);
const names = (units: PendingOp[][]): string[][] => units.map((u) => u.map((o) => (o.payload as { name: string }).name));
const pack = (over: Partial<PackLimits> = {}): PackLimits => ({ maxOps: 10, maxBytes: 1000, sizeOf: () => 10, packable: () => true, ...over });

describe('pickReady', () => {
  const held = [op('a1'), op('b1'), op('a2'), op('c1'), op('b2')];

  test('one op per unit: the first held op of each free key, in FIFO order', () => {
    expect(names(pickReady(held, () => false, keyOf))).toEqual([['a1'], ['b1'], ['c1']]);
  });

  test('a busy key starts nothing; its later ops wait too', () => {
    expect(names(pickReady(held, (k) => k === 'a', keyOf))).toEqual([['b1'], ['c1']]);
  });

  test('packed: consecutive ready ops in one batch, several of one key together', () => {
    expect(names(pickReady(held, () => false, keyOf, pack()))).toEqual([['a1', 'b1', 'a2', 'c1', 'b2']]);
    expect(names(pickReady(held, (k) => k === 'b', keyOf, pack()))).toEqual([['a1', 'a2', 'c1']]);
  });

  test('a full batch closes; a key in it never goes into the next one (two requests of one key would overlap)', () => {
    expect(names(pickReady(held, () => false, keyOf, pack({ maxOps: 2 })))).toEqual([['a1', 'a2'], ['b1', 'b2'], ['c1']]);
    expect(names(pickReady(held, () => false, keyOf, pack({ maxBytes: 25 })))).toEqual([['a1', 'a2'], ['b1', 'b2'], ['c1']]);
    // A key cut off by a full batch waits with the rest of its run.
    expect(names(pickReady(held, () => false, keyOf, pack({ maxOps: 3 })))).toEqual([['a1', 'b1', 'a2'], ['c1']]);
  });

  test('packed per key: each key brings its run, so batches are full over disjoint keys (FIFO-consecutive packing would send [a1 b1 c1 d1] and block the rest)', () => {
    const rounds = ['a1', 'b1', 'c1', 'd1', 'a2', 'b2', 'c2', 'd2'].map((n) => op(n));
    const units = pickReady(rounds, () => false, keyOf, pack({ maxOps: 4 }));
    expect(names(units)).toEqual([
      ['a1', 'b1', 'a2', 'b2'],
      ['c1', 'd1', 'c2', 'd2'],
    ]);
    // A key cut off by a full batch is not in the next one: its rest waits.
    expect(names(pickReady(rounds, () => false, keyOf, pack({ maxOps: 3 })))).toEqual([['a1', 'b1', 'a2'], ['c1', 'd1', 'c2']]);
  });

  test('an op that may not be packed (a stored wait) or is too large alone is a unit of its own, after its key\'s batched ops', () => {
    const waiting = [op('a1'), op('b1', { nextAttemptAt: 5 }), op('c1'), op('a2', { nextAttemptAt: 5 })];
    const units = pickReady(waiting, () => false, keyOf, pack({ packable: (o) => o.nextAttemptAt === null }));
    expect(names(units)).toEqual([['b1'], ['a1', 'c1']]);
    const large = pickReady([op('a1'), op('b1')], () => false, keyOf, pack({ sizeOf: (o) => (keyOf(o) === 'a' ? 5000 : 10) }));
    expect(names(large)).toEqual([['a1'], ['b1']]);
  });
});
