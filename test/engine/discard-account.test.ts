import { lastValueFrom } from 'rxjs';
import { discardAccountOps, discardRefusal } from '../../src/engine/discard-account';
import { ValidationError } from '../../src/errors/sync-error';
import { createIdempotencyKey } from '../../src/idempotency/idempotency-key';
import { createOpId, createTraceId } from '../../src/op/ids';
import type { PendingOp } from '../../src/op/pending-op';
import { MemoryStorePort } from '../support/memory-store-port';

const op = (n: number, accountId?: string): PendingOp => ({
  schemaVersion: 1,
  id: createOpId(),
  type: 't',
  payload: { n },
  idempotencyKey: createIdempotencyKey(),
  traceId: createTraceId(),
  txToken: `tx${n}`,
  createdAt: 0,
  attempts: 0,
  nextAttemptAt: null,
  ...(accountId === undefined ? {} : { accountId }),
});

describe('discardAccountOps', () => {
  test("pages through the whole queue and drops exactly that account's ops (fail as dropped, then discard), leaving the rest in order", async () => {
    const store = new MemoryStorePort();
    const accounts = ['a', 'b', 'a', undefined, 'a', 'a', 'b', 'a', 'c'];
    accounts.forEach((acc, i) => store.append(op(i, acc)).subscribe());
    const changes: string[] = [];
    store.changes$.subscribe((c) => changes.push(c.type === 'failed' ? `failed:${c.record.reason}:${c.record.id === c.record.op?.id}` : c.type));
    const dropped = await lastValueFrom(discardAccountOps(store, 'a', 2, () => 1));
    expect(dropped).toBe(5);
    expect(changes).toEqual(Array(5).fill(['failed:dropped:true', 'discarded']).flat());
    expect(store.pendingOps().map((o) => [o.txToken, o.accountId])).toEqual([
      ['tx1', 'b'],
      ['tx3', undefined],
      ['tx6', 'b'],
      ['tx8', 'c'],
    ]);
    expect(store.data.failed.size).toBe(0);
  });

  test('an empty queue, or no op of that account: 0, nothing written', async () => {
    const store = new MemoryStorePort();
    await expect(lastValueFrom(discardAccountOps(store, 'a', 2, () => 1))).resolves.toBe(0);
    store.append(op(1, 'b')).subscribe();
    await expect(lastValueFrom(discardAccountOps(store, 'a', 2, () => 1))).resolves.toBe(0);
    expect(store.calls.filter((c) => c.method === 'fail' || c.method === 'discardFailed')).toEqual([]);
  });
});

describe('discardRefusal', () => {
  test.each<[string, unknown, { confirm?: boolean } | undefined, string | null, string | undefined]>([
    ['confirmed, another account signed in', 'a', { confirm: true }, 'b', undefined],
    ['confirmed, signed out', 'a', { confirm: true }, null, undefined],
    ['no options', 'a', undefined, null, 'notConfirmed'],
    ['confirm false', 'a', { confirm: false }, null, 'notConfirmed'],
    ['confirm truthy but not true', 'a', { confirm: 1 as unknown as boolean }, null, 'notConfirmed'],
    ['the account signed in now', 'a', { confirm: true }, 'a', 'accountSignedIn'],
    ['an empty id', '', { confirm: true }, null, 'invalidOptions'],
    ['a non-string id', 42, { confirm: true }, null, 'invalidOptions'],
  ])('%s', (_name, id, options, signedIn, reason) => {
    const refused = discardRefusal(id, options, signedIn);
    if (reason === undefined) expect(refused).toBeUndefined();
    else {
      expect(refused).toBeInstanceOf(ValidationError);
      expect(refused?.reason).toBe(reason);
    }
  });
});
