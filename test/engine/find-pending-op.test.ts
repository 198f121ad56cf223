import { marbles } from 'rxjs-marbles/jest';
import { findPendingOp, idBefore } from '../../src/engine/find-pending-op';
import { createOpId } from '../../src/op/ids';
import type { PendingOp } from '../../src/op/pending-op';
import { MemoryStorePort } from '../support/memory-store-port';

describe('idBefore', () => {
  test.each([
    ['018f0000-0000-7000-8000-000000000011', '018f0000-0000-7000-8000-000000000010'],
    ['018f0000-0000-7000-8000-000000000010', '018f0000-0000-7000-8000-00000000000f'],
    ['018f0000-0000-7000-8001-000000000000', '018f0000-0000-7000-8000-ffffffffffff'],
    ['018f0000-0000-7000-8000-00000000000a', '018f0000-0000-7000-8000-000000000009'],
    ['018F0000-0000-7000-8000-00000000000A', '018F0000-0000-7000-8000-000000000009'],
  ])('%s → %s (sorts just before it, same length)', (id, before) => {
    expect(idBefore(id)).toBe(before);
    expect(before < id).toBe(true);
  });

  test('nothing sorts before all zeros', () => {
    expect(idBefore('00000000-0000-0000-0000-000000000000')).toBeUndefined();
  });
});

describe('findPendingOp', () => {
  test(
    'reads the op itself with one peek(1) from just before it, or undefined when it is not pending',
    marbles((m) => {
      const store = new MemoryStorePort({ scheduler: m.scheduler });
      const ops = ['a', 'b', 'c'].map((id): PendingOp => {
        const op: PendingOp = {
          schemaVersion: 1,
          id: createOpId(),
          type: 'todo.create',
          payload: { id, title: id },
          idempotencyKey: '9b2f5a8e-4a3c-4f7e-9a55-2f1f0c3f1a11' as PendingOp['idempotencyKey'],
          traceId: '0c3a5d0e-6f6b-4b7e-8f5e-5a0f3e2d1c9b' as PendingOp['traceId'],
          txToken: `tx-${id}`,
          createdAt: 0,
          attempts: 0,
          nextAttemptAt: null,
        };
        store.append(op).subscribe();
        return op;
      });
      m.expect(findPendingOp(store, ops[1]!.id)).toBeObservable('(x|)', { x: ops[1] });
      m.expect(findPendingOp(store, createOpId())).toBeObservable('(x|)', { x: undefined });
      m.flush();
      expect(store.calls.filter((c) => c.method === 'peek')).toHaveLength(2);
    }),
  );
});
