import { Subject, firstValueFrom } from 'rxjs';
import { storePortFromOpStore } from '../../src/engine/store-port';
import type { OpStore, StoreChange } from '../../src/store/op-store';
import type { StorePort } from '../../streams/ports';
import { makeOp } from '../store/support/ops';

// The contract is written once: `StorePort` has exactly `OpStore`'s members
// (bar `close`, which stays with the engine) plus `discardFailed`. Checked
// by tsc: adding a method to `OpStore` adds it to `StorePort`.
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const sameMembers: Equal<Exclude<keyof StorePort, 'discardFailed'>, Exclude<keyof OpStore, 'close'>> = true;

/** An `OpStore` whose every call is logged and resolves with `answer`. */
function fakeStore(answer: unknown): OpStore & { readonly calls: Array<[string, unknown[]]> } {
  const calls: Array<[string, unknown[]]> = [];
  const call =
    (name: string) =>
    (...args: unknown[]): Promise<never> => {
      calls.push([name, args]);
      return Promise.resolve(answer as never);
    };
  const changes = new Subject<StoreChange>();
  return {
    calls,
    append: call('append'),
    peek: call('peek'),
    update: call('update'),
    rewrite: call('rewrite'),
    complete: call('complete'),
    fail: call('fail'),
    isCompleted: call('isCompleted'),
    counts: call('counts'),
    readMeta: call('readMeta'),
    writeMeta: call('writeMeta'),
    close: call('close'),
    completesAtomically: true,
    changes$: changes.asObservable(),
    failed: { list: call('failed.list'), retry: call('failed.retry'), discard: call('failed.discard') },
  };
}

describe('storePortFromOpStore', () => {
  it('derives the port from the contract (type check above)', () => {
    expect(sameMembers).toBe(true);
  });

  it('defers every call to subscription and calls the store once per subscription, with the same arguments', async () => {
    const store = fakeStore('answer');
    const port = storePortFromOpStore(store);
    const op = makeOp();
    const calls: ReadonlyArray<[string, () => Promise<unknown>, unknown[]]> = [
      ['append', () => firstValueFrom(port.append(op)), [op]],
      ['peek', () => firstValueFrom(port.peek(5, op.id)), [5, op.id]],
      ['update', () => firstValueFrom(port.update(op)), [op]],
      ['rewrite', () => firstValueFrom(port.rewrite(op)), [op]],
      ['complete', () => firstValueFrom(port.complete(op, 7)), [op, 7]],
      ['isCompleted', () => firstValueFrom(port.isCompleted('k')), ['k']],
      ['counts', () => firstValueFrom(port.counts()), []],
      ['readMeta', () => firstValueFrom(port.readMeta('m')), ['m']],
      ['failed.discard', () => firstValueFrom(port.discardFailed('f')), ['f']],
    ];
    expect(store.calls).toEqual([]);
    for (const [name, run, args] of calls) {
      await expect(run()).resolves.toBe('answer');
      expect(store.calls.at(-1)).toEqual([name, args]);
    }
    expect(store.calls).toHaveLength(calls.length);
    expect(port.completesAtomically).toBe(true);
    expect(port.changes$).toBe(store.changes$);
    expect(port.failed).toBe(store.failed);
  });
});
