import { createOpStore, type SealedOpStore } from '../../src/store/create-op-store';
import { generateStoreKey, RecordCipher } from '../../src/crypto/record-cipher';
import { StorageError } from '../../src/errors/sync-error';
import type { PendingOp } from '../../src/op/pending-op';
import { makeOp, makeOps } from './support/ops';
import { defineFaultyDriver, type FaultPlan } from './support/faulty-driver';
import { indexedDbHarness, memoryHarness, rawEntries, sqliteHarness, withRaw, type StoreHarness } from './support/harness';

/**
 * Every multi-write operation, cut after each of its writes as if the
 * process died there, then reopened on the real driver: open() must leave
 * each op in exactly one place, never lost, never sendable twice.
 */
describe.each<StoreHarness>([memoryHarness, sqliteHarness(), indexedDbHarness])('crash points on the $label', (h) => {
  let base: string;
  let faulty: string;
  let plan: FaultPlan;
  let key: CryptoKey;
  const toClose: SealedOpStore[] = [];

  beforeAll(async () => {
    base = await h.driver();
    ({ driver: faulty, plan } = await defineFaultyDriver(base));
    key = await generateStoreKey();
  });
  afterEach(async () => {
    plan.reset();
    await Promise.all(toClose.splice(0).map((s) => s.close()));
  });
  afterAll(() => h.cleanup?.());

  const NOW = 1_700_000_000_000;
  const DAY = 24 * 3_600_000;

  async function open(name: string, driver: string, now = NOW): Promise<SealedOpStore> {
    const s = await createOpStore({ name, driver, encryptionKey: key, now: () => now, ...h.storeOptions });
    toClose.push(s);
    return s;
  }

  /** A store on the faulty driver holding `ops`, with `failed` already dead-lettered. */
  async function seeded(ops: readonly PendingOp[], failed: readonly PendingOp[] = []): Promise<[string, SealedOpStore]> {
    const name = h.freshName();
    const store = await open(name, faulty);
    for (const op of [...ops, ...failed]) await store.append(op);
    for (const op of failed) await store.fail(op, { reason: 'exhausted', error: { kind: 'server' }, failedAt: 1 });
    return [name, store];
  }

  /**
   * Reopened on the same wrapper, faults off: like IndexedDB, the wrapper
   * completes in two writes, so the reopened store looks for a half-done
   * complete. (A store that completes in one transaction cannot have one
   * and does not look: see test/store/ledger-paging.test.ts.)
   */
  async function reopen(name: string, crashed: SealedOpStore): Promise<SealedOpStore> {
    await crashed.close();
    plan.reset();
    return open(name, faulty);
  }

  it('says whether complete is one transaction: only then may the engine skip the ledger check', async () => {
    // SQLite, the memory driver and IndexedDB write the ledger entry and
    // the removal with one setAndRemove; this faulty wrapper (which has no
    // setAndRemove, like IndexedDB before it had one) writes them one after
    // the other.
    const direct = await open(h.freshName(), base);
    expect(direct.completesAtomically).toBe(true);
    const [, wrapped] = await seeded([]);
    expect(wrapped.completesAtomically).toBe(false);
  });

  it.each([0, 1])('complete cut after %i write(s): the op is gone from pending, unsent, and the ledger knows it', async (writes) => {
    const [a, b] = makeOps(2) as [PendingOp, PendingOp];
    const [name, store] = await seeded([a, b]);
    plan.crashAfter(writes);
    await expect(store.complete(a, NOW - 1)).rejects.toBeInstanceOf(StorageError);

    const after = await reopen(name, store);
    if (writes === 0) {
      expect(await after.peek(5)).toEqual([a, b]);
      expect(await after.isCompleted(a.idempotencyKey)).toBe(false);
    } else {
      expect(await after.peek(5)).toEqual([b]);
      expect(await after.isCompleted(a.idempotencyKey)).toBe(true);
    }
    expect((await after.counts()).failed).toBe(0);
  });

  it('complete cut after the ledger write, reopened after the TTL: still never resent, then pruned', async () => {
    const [a, b] = makeOps(2) as [PendingOp, PendingOp];
    const [name, store] = await seeded([a, b]);
    plan.crashAfter(1);
    await expect(store.complete(a, NOW)).rejects.toBeInstanceOf(StorageError);
    await store.close();
    plan.reset();

    const after = await open(name, faulty, NOW + 2 * DAY);
    expect(await after.peek(5)).toEqual([b]);
    // Pruned in the background (first complete), or when asked.
    expect(await after.pruneLedger()).toBe(1);
    expect(await after.isCompleted(a.idempotencyKey)).toBe(false);
    expect(await after.peek(5)).toEqual([b]);
  });

  it('a complete cut between two writes (an earlier version, a driver without setAndRemove) is finished by the first one-transaction open', async () => {
    const [a, b] = makeOps(2) as [PendingOp, PendingOp];
    const [name, store] = await seeded([a, b]);
    plan.crashAfter(1);
    await expect(store.complete(a, NOW - 1)).rejects.toBeInstanceOf(StorageError);
    await store.close();
    plan.reset();

    // Reopened on the driver itself: complete is one transaction now, and
    // the drain will not ask the ledger before sending.
    const after = await open(name, base);
    expect(after.completesAtomically).toBe(true);
    expect(await after.peek(5)).toEqual([b]);
    expect(await after.isCompleted(a.idempotencyKey)).toBe(true);
  });

  it.each([0, 1])('fail cut after %i write(s): the op is in exactly one queue', async (writes) => {
    const [a, b] = makeOps(2) as [PendingOp, PendingOp];
    const [name, store] = await seeded([a, b]);
    plan.crashAfter(writes);
    await expect(store.fail(a, { reason: 'permanent', error: { kind: 'permanent' }, failedAt: 2 })).rejects.toBeInstanceOf(StorageError);

    const after = await reopen(name, store);
    const pending = (await after.peek(5)).map((o) => o.id);
    const failed = (await after.failed.list()).map((r) => r.op?.id);
    expect(pending).toEqual(writes === 0 ? [a.id, b.id] : [b.id]);
    expect(failed).toEqual(writes === 0 ? [] : [a.id]);
  });

  // retry = intent → append new → remove failed → forget intent.
  it.each([0, 1, 2, 3])('retry cut after %i write(s): one copy, same idempotency key, no intent left', async (writes) => {
    const [a, b] = makeOps(2) as [PendingOp, PendingOp];
    const [name, store] = await seeded([b], [a]);
    plan.crashAfter(writes);
    await expect(store.failed.retry(a.id)).rejects.toBeInstanceOf(StorageError);

    const after = await reopen(name, store);
    const pending = await after.peek(5);
    const failed = await after.failed.list();
    const copies = [...pending.filter((o) => o.idempotencyKey === a.idempotencyKey), ...failed.filter((r) => r.op?.idempotencyKey === a.idempotencyKey)];
    expect(copies).toHaveLength(1);
    if (writes >= 2) {
      expect(pending.map((o) => o.idempotencyKey)).toEqual([b.idempotencyKey, a.idempotencyKey]);
      expect(failed).toEqual([]);
    } else {
      expect(pending).toEqual([b]);
      expect(failed.map((r) => r.id)).toEqual([a.id]);
    }
    const meta = (await rawEntries(base, name, 'meta')).map(([k]) => k);
    expect(meta.filter((k) => k.startsWith('sys:retry:'))).toEqual([]);
    // And the op is retryable again afterwards when it stayed dead-lettered.
    if (writes < 2) expect((await after.failed.retry(a.id)).idempotencyKey).toBe(a.idempotencyKey);
  });

  it.each([0, 1, 2, 3])('retry under a new key (after a 404) cut after %i write(s): one copy, found by txToken', async (writes) => {
    const [a, b] = makeOps(2) as [PendingOp, PendingOp];
    const [name, store] = await seeded([a, b]);
    await store.fail(a, { reason: 'permanent', error: { kind: 'permanent', status: 404 }, failedAt: 1 });
    plan.crashAfter(writes);
    await expect(store.failed.retry(a.id)).rejects.toBeInstanceOf(StorageError);

    const after = await reopen(name, store);
    const pending = (await after.peek(5)).filter((o) => o.txToken === a.txToken);
    const failed = (await after.failed.list()).filter((r) => r.op?.txToken === a.txToken);
    expect(pending.length + failed.length).toBe(1);
    if (writes >= 2) expect(pending[0]?.idempotencyKey).not.toBe(a.idempotencyKey);
    else expect(failed[0]?.op?.idempotencyKey).toBe(a.idempotencyKey);
  });

  it('quarantine cut after its first write: the corrupt record is dead-lettered, not pending', async () => {
    const [a] = makeOps(1) as [PendingOp];
    const [name, store] = await seeded([a]);
    const bad = makeOp();
    const sealed = await new RecordCipher(key).seal('pending_ops', bad.id, '{"truncated":');
    await withRaw(base, name, 'pending_ops', (f) => f.setItem(bad.id, sealed));
    plan.crashAfter(1);
    await expect(store.peek(5)).rejects.toBeInstanceOf(StorageError);

    const after = await reopen(name, store);
    expect(await after.peek(5)).toEqual([a]);
    expect((await after.failed.list()).map((r) => [r.id, r.reason])).toEqual([[bad.id, 'corrupt']]);
  });

  it('maps a quota error to StorageError(quota) and writes nothing', async () => {
    const [a] = makeOps(1) as [PendingOp];
    const [name, store] = await seeded([a]);
    plan.failWith(new DOMException('The quota has been exceeded.', 'QuotaExceededError'));
    const err = await store.append(makeOp()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageError);
    expect(err).toMatchObject({ reason: 'quota', retryable: true });
    plan.reset();
    expect(await store.counts()).toEqual({ pending: 1, failed: 0 });
    expect((await rawEntries(base, name, 'pending_ops')).map(([k]) => k)).toEqual([a.id]);
  });
});
