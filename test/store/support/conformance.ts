import { firstValueFrom, toArray, take } from 'rxjs';
import { createOpStore, type SealedOpStore } from '../../../src/store/create-op-store';
import type { OpStoreOptions } from '../../../src/store/op-store-options';
import type { StoreChange } from '../../../src/store/op-store';
import { generateStoreKey, RecordCipher } from '../../../src/crypto/record-cipher';
import { StorageError } from '../../../src/errors/sync-error';
import type { OpId } from '../../../src/op/pending-op';
import { makeOp, makeOps, SECRET } from './ops';
import { retryIdempotencyKey } from '../../../src/idempotency/idempotency-key';
import { rekeyForRewrite } from '../../../src/idempotency/rekey-for-rewrite';
import { rawEntries, withRaw, type StoreHarness } from './harness';

const HOUR = 3_600_000;

/**
 * The store's contract, run against every driver: FIFO paging, the
 * dead-letter queue, the ledger, encryption, wrong key and corruption.
 */
export function describeOpStoreConformance(h: StoreHarness): void {
  describe(`OpStore on the ${h.label}`, () => {
    let driver: string;
    let key: CryptoKey;
    const open: SealedOpStore[] = [];

    beforeAll(async () => {
      driver = await h.driver();
      key = await generateStoreKey();
    });
    afterEach(async () => {
      await Promise.all(open.splice(0).map((s) => s.close()));
    });
    afterAll(() => h.cleanup?.());

    async function openStore(name: string, extra: Partial<OpStoreOptions> = {}): Promise<SealedOpStore> {
      const s = await createOpStore({ name, driver, encryptionKey: key, ...h.storeOptions, ...extra });
      open.push(s);
      return s;
    }

    async function snapshot(name: string): Promise<unknown> {
      const tables = ['pending_ops', 'failed_ops', 'idempotency_ledger', 'meta'];
      return Promise.all(tables.map((t) => rawEntries(driver, name, t)));
    }

    it('keeps FIFO order and pages with afterId without skipping or repeating', async () => {
      const store = await openStore(h.freshName());
      const ops = makeOps(7);
      for (const op of ops) await store.append(op);

      expect((await store.peek(3)).map((o) => o.id)).toEqual(ops.slice(0, 3).map((o) => o.id));
      expect((await store.peek(3, ops[2]!.id)).map((o) => o.id)).toEqual(ops.slice(3, 6).map((o) => o.id));
      expect((await store.peek(10, ops[5]!.id)).map((o) => o.id)).toEqual([ops[6]!.id]);
      expect(await store.peek(10, ops[6]!.id)).toEqual([]);
      expect(await store.peek(10)).toEqual(ops);
      expect(await store.counts()).toEqual({ pending: 7, failed: 0 });
    });

    it('orders concurrent appends by id, whatever order the writes land in', async () => {
      const store = await openStore(h.freshName());
      const ops = makeOps(12);
      await Promise.all([...ops].reverse().map((op) => store.append(op)));
      expect((await store.peek(12)).map((o) => o.id)).toEqual(ops.map((o) => o.id));
    });

    it('survives close and reopen with the same key', async () => {
      const name = h.freshName();
      const first = await openStore(name);
      const ops = makeOps(3);
      for (const op of ops) await first.append(op);
      await first.writeMeta('lock', { owner: 'tab-1', heartbeatAt: 5 });
      await first.close();

      const again = await openStore(name);
      expect(await again.peek(10)).toEqual(ops);
      expect(await again.readMeta('lock')).toEqual({ owner: 'tab-1', heartbeatAt: 5 });
      expect(await again.readMeta('absent')).toBeUndefined();
    });

    it('update rewrites one op in place and never resurrects a removed one', async () => {
      const store = await openStore(h.freshName());
      const [a, b] = makeOps(2) as [ReturnType<typeof makeOp>, ReturnType<typeof makeOp>];
      await store.append(a);
      await store.append(b);
      const updated = { ...a, attempts: 2, nextAttemptAt: 1234, lastError: { kind: 'server' as const, status: 503 } };
      await store.update(updated);
      expect(await store.peek(2)).toEqual([updated, b]);

      await store.complete(b, 10);
      await store.update({ ...b, attempts: 1 });
      expect(await store.peek(5)).toEqual([updated]);
    });

    it('rewrite replaces a rewritten op in one write and emits rewritten (not updated); never resurrects a removed one', async () => {
      const store = await openStore(h.freshName());
      const [a, b] = makeOps(2) as [ReturnType<typeof makeOp>, ReturnType<typeof makeOp>];
      await store.append(a);
      await store.append(b);
      const changes = firstValueFrom(store.changes$.pipe(take(1), toArray()));
      const rewritten = rekeyForRewrite(a, { title: 'merged' }, { kind: 'conflict', status: 409 });
      await store.rewrite(rewritten);
      expect(await changes).toEqual([{ type: 'rewritten', op: rewritten }]);
      expect(await store.peek(2)).toEqual([rewritten, b]);

      await store.complete(b, 10);
      const after = firstValueFrom(store.changes$.pipe(toArray()));
      await store.rewrite(rekeyForRewrite(b, { title: 'late' }, null));
      expect(await store.peek(5)).toEqual([rewritten]);
      await store.close();
      expect(await after).toEqual([]);
    });

    it('complete records the key in the ledger and removes the op; changes$ fires after the writes', async () => {
      const name = h.freshName();
      const store = await openStore(name);
      // Raw readers opened up front, so a read started inside the subscriber
      // is issued at once and sees storage as it is when the change is emitted.
      await withRaw(driver, name, 'pending_ops', (pending) =>
        withRaw(driver, name, 'idempotency_ledger', async (ledger) => {
          const seen: Array<Promise<[StoreChange['type'], unknown, unknown]>> = [];
          store.changes$.subscribe((c) => {
            if (c.type !== 'appended' && c.type !== 'completed') return;
            seen.push(Promise.all([c.type, pending.getItem(c.op.id), ledger.getItem(c.op.idempotencyKey)]));
          });
          const op = makeOp();
          await store.append(op);
          const [appended] = await Promise.all(seen);
          expect(appended![0]).toBe('appended');
          expect(appended![1]).not.toBeNull();
          expect(await store.isCompleted(op.idempotencyKey)).toBe(false);

          await store.complete(op, 1000);
          const [, completed] = await Promise.all(seen);
          expect(completed![0]).toBe('completed');
          expect(completed![1]).toBeNull();
          expect(completed![2]).not.toBeNull();
          expect(await store.isCompleted(op.idempotencyKey)).toBe(true);
          expect(await store.peek(5)).toEqual([]);
        }),
      );
    });

    it('fail moves the op to the dead-letter queue with reason, error, attempts and time', async () => {
      const store = await openStore(h.freshName());
      const [a, b] = [makeOp({ attempts: 5 }), makeOp()];
      await store.append(a);
      await store.append(b);
      const changes = firstValueFrom(store.changes$.pipe(take(1), toArray()));
      await store.fail(a, { reason: 'exhausted', error: { kind: 'server', status: 500 }, failedAt: 99 });

      expect(await changes).toEqual([{ type: 'failed', record: expect.objectContaining({ id: a.id, reason: 'exhausted' }) }]);
      expect(await store.peek(5)).toEqual([b]);
      expect(await store.failed.list()).toEqual([
        { id: a.id, reason: 'exhausted', error: { kind: 'server', status: 500 }, attempts: 5, failedAt: 99, op: a },
      ]);
      expect(await store.counts()).toEqual({ pending: 1, failed: 1 });
    });

    it('retry puts the op back at the tail: new id, fresh budget, same idempotency key, trace and tx', async () => {
      const store = await openStore(h.freshName());
      const [a, b] = [makeOp({ attempts: 5, nextAttemptAt: 77, lastError: { kind: 'server' } }), makeOp()];
      await store.append(a);
      await store.append(b);
      await store.fail(a, { reason: 'exhausted', error: { kind: 'server' }, failedAt: 1 });

      const retried = await store.failed.retry(a.id);
      expect(retried).toEqual({ ...a, id: retried.id, attempts: 0, nextAttemptAt: null, lastError: null });
      expect(retried.id > b.id).toBe(true);
      expect(await store.peek(5)).toEqual([b, retried]);
      expect(await store.failed.list()).toEqual([]);
      await expect(store.failed.retry(a.id)).rejects.toMatchObject({ name: 'ValidationError' });
    });

    it('retry after a definitive refusal (404) sends under a new idempotency key; the change names the failed record', async () => {
      const store = await openStore(h.freshName());
      const a = makeOp({ attempts: 1 });
      await store.append(a);
      await store.fail(a, { reason: 'permanent', error: { kind: 'permanent', status: 404, code: 'not_found' }, failedAt: 1 });
      const changes = firstValueFrom(store.changes$.pipe(take(1)));

      const retried = await store.failed.retry(a.id);
      expect(retried.idempotencyKey).not.toBe(a.idempotencyKey);
      expect(retried).toEqual({ ...a, id: retried.id, idempotencyKey: retried.idempotencyKey, attempts: 0, nextAttemptAt: null, lastError: null });
      expect(await changes).toEqual({ type: 'retried', op: retried, failedId: a.id });
      expect(await store.peek(5)).toEqual([retried]);
      expect(await store.failed.list()).toEqual([]);
    });

    it('two retries of one record at once (a double click) queue it once', async () => {
      const store = await openStore(h.freshName());
      const a = makeOp();
      await store.append(a);
      await store.fail(a, { reason: 'permanent', error: { kind: 'permanent', status: 404 }, failedAt: 1 });
      const [first, second] = await Promise.all([store.failed.retry(a.id), store.failed.retry(a.id)]);
      expect(second).toEqual(first);
      expect(await store.peek(5)).toEqual([first]);
    });

    it('retries of one refused record from two tabs at once send under one new key', async () => {
      const name = h.freshName();
      const [tabA, tabB] = [await openStore(name), await openStore(name)];
      const a = makeOp();
      await tabA.append(a);
      await tabA.fail(a, { reason: 'permanent', error: { kind: 'permanent', status: 404 }, failedAt: 1 });
      const settled = await Promise.allSettled([tabA.failed.retry(a.id), tabB.failed.retry(a.id)]);
      const queued = (await tabA.peek(5)).filter((o) => o.txToken === a.txToken);
      // Both may win the race (no cross-tab lock on the dead-letter queue);
      // then both copies carry one key and the server applies it once.
      expect(settled.some((r) => r.status === 'fulfilled')).toBe(true);
      expect(queued.length).toBeGreaterThanOrEqual(1);
      expect(new Set(queued.map((o) => o.idempotencyKey))).toEqual(new Set([retryIdempotencyKey(a.idempotencyKey)]));
    });

    it.each([
      ['exhausted', '503', { kind: 'server', status: 503 }],
      ['malformedResponse', '2xx without data', { kind: 'malformedResponse', status: 200, code: 'noData' }],
      ['permanent', '422 idempotency_key_mismatch', { kind: 'permanent', status: 422, code: 'idempotency_key_mismatch' }],
    ] as const)('retry of an op failed as %s (%s: applied or outcome unknown) keeps the idempotency key', async (reason, _what, error) => {
      const store = await openStore(h.freshName());
      const a = makeOp();
      await store.append(a);
      await store.fail(a, { reason, error, failedAt: 1 });
      const retried = await store.failed.retry(a.id);
      expect([retried.idempotencyKey, retried.id === a.id]).toEqual([a.idempotencyKey, false]);
    });

    it('discard removes a dead-letter record and emits it', async () => {
      const store = await openStore(h.freshName());
      const op = makeOp();
      await store.append(op);
      await store.fail(op, { reason: 'permanent', error: { kind: 'permanent', status: 422 }, failedAt: 3 });
      const changes = firstValueFrom(store.changes$.pipe(take(1)));
      await store.failed.discard(op.id);
      expect(await changes).toEqual({ type: 'discarded', record: expect.objectContaining({ id: op.id, op }) });
      expect(await store.counts()).toEqual({ pending: 0, failed: 0 });
    });

    it('never writes plaintext: raw records hold no payload, type or tx bytes', async () => {
      const name = h.freshName();
      const store = await openStore(name);
      const [a, b, c] = makeOps(3) as [ReturnType<typeof makeOp>, ReturnType<typeof makeOp>, ReturnType<typeof makeOp>];
      for (const op of [a, b, c]) await store.append(op);
      await store.complete(a, 1);
      await store.fail(b, { reason: 'permanent', error: { kind: 'permanent' }, failedAt: 1 });
      await store.writeMeta('note', { text: SECRET });

      const raw = JSON.stringify(await snapshot(name));
      expect(raw).toContain(c.id); // the keys are there: we read the right tables
      for (const needle of [SECRET, 'todo.create', c.txToken, c.traceId]) expect(raw).not.toContain(needle);
      if (h.rawFileBytes) {
        await store.close();
        const bytes = h.rawFileBytes(name);
        expect(bytes.length).toBeGreaterThan(0);
        expect(bytes.includes(Buffer.from(SECRET))).toBe(false);
        expect(bytes.includes(Buffer.from('todo.create'))).toBe(false);
      }
    });

    it('rejects a wrong key with StorageError(wrongKey) and leaves every record untouched', async () => {
      const name = h.freshName();
      const store = await openStore(name);
      const ops = makeOps(2);
      for (const op of ops) await store.append(op);
      await store.close();
      const before = await snapshot(name);

      const other = await generateStoreKey();
      const err = await createOpStore({ name, driver, encryptionKey: other, ...h.storeOptions }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StorageError);
      expect(err).toMatchObject({ reason: 'wrongKey' });
      expect(await snapshot(name)).toEqual(before);

      // Even with the canary gone, a wrong key is not mistaken for an empty queue.
      await withRaw(driver, name, 'meta', (f) => f.removeItem('sys:canary'));
      await expect(createOpStore({ name, driver, encryptionKey: other, ...h.storeOptions })).rejects.toMatchObject({ reason: 'wrongKey' });

      const again = await openStore(name);
      expect(await again.peek(5)).toEqual(ops);
    });

    it('quarantines corrupt records with their bytes and a reason, and keeps the queue flowing', async () => {
      const name = h.freshName();
      const store = await openStore(name);
      const cipher = new RecordCipher(key, h.storeOptions?.aesGcm);
      const good = makeOps(3);
      for (const op of good) await store.append(op);
      const bad = makeOps(7).map((o) => o.id);
      const moved = makeOp();
      const sealedElsewhere = await cipher.seal('pending_ops', moved.id, JSON.stringify(moved));
      const [tampered, truncated, wrongType, newer, notOurs, future, slot] = bad as [OpId, OpId, OpId, OpId, OpId, OpId, OpId];
      const goodSealed = await cipher.seal('pending_ops', tampered, JSON.stringify({ ...makeOp(), id: tampered }));
      const flipped = goodSealed.slice(0, -6) + (goodSealed.at(-6) === 'A' ? 'B' : 'A') + goodSealed.slice(-5);
      const stored: Array<[string, string]> = [
        [tampered, flipped],
        [truncated, await cipher.seal('pending_ops', truncated, JSON.stringify({ ...makeOp(), id: truncated }).slice(0, 40))],
        [wrongType, await cipher.seal('pending_ops', wrongType, JSON.stringify({ ...makeOp(), id: wrongType, attempts: '3' }))],
        [newer, await cipher.seal('pending_ops', newer, JSON.stringify({ ...makeOp(), id: newer, schemaVersion: 2 }))],
        [notOurs, 'hello'],
        [future, 'e9.AAAA.BBBB'],
        [slot, sealedElsewhere],
      ];
      await withRaw(driver, name, 'pending_ops', async (f) => {
        for (const [k, v] of stored) await f.setItem(k, v);
      });
      const quarantined: string[] = [];
      store.changes$.subscribe((c) => {
        if (c.type === 'failed') quarantined.push(c.record.id);
      });

      // Pages smaller than the corrupt run still return the good ops in order.
      expect(await store.peek(2)).toEqual(good.slice(0, 2));
      expect(await store.peek(10)).toEqual(good);
      expect(await store.counts()).toEqual({ pending: 3, failed: 7 });
      expect(quarantined.sort()).toEqual([...bad].sort());

      const byId = new Map((await store.failed.list()).map((r) => [r.id, r]));
      const detail = (id: string): string => byId.get(id)?.detail ?? '';
      expect(detail(tampered)).toMatch(/^decrypt:/);
      expect(detail(truncated)).toMatch(/^json:/);
      expect(detail(wrongType)).toMatch(/attempts: expected NonNegativeInt/);
      expect(detail(newer)).toMatch(/newer version/);
      expect(detail(notOurs)).toMatch(/^format:/);
      expect(detail(future)).toMatch(/format version \(e9\)/);
      expect(detail(slot)).toMatch(/^decrypt:/);
      for (const r of byId.values()) {
        expect(r).toMatchObject({ reason: 'corrupt', error: { kind: 'storage', code: 'corrupt' }, attempts: 0 });
        expect(r.op).toBeUndefined();
        expect(r.detail).not.toContain(SECRET);
      }
      // Bytes kept: undecryptable ones exactly as stored, the others decrypted.
      expect(byId.get(tampered)?.raw).toBe(flipped);
      expect(byId.get(notOurs)?.raw).toBe('hello');
      expect(byId.get(slot)?.raw).toBe(sealedElsewhere);
      expect(byId.get(wrongType)?.raw).toContain('"attempts":"3"');
      // …and still encrypted at rest in the dead-letter table.
      expect(JSON.stringify(await rawEntries(driver, name, 'failed_ops'))).not.toContain(SECRET);
      await expect(store.failed.retry(truncated)).rejects.toMatchObject({ reason: 'corrupt' });
    });

    it('prunes ledger entries older than the TTL in the background, on the first complete after open (open walks no ledger), using the injected clock', async () => {
      const name = h.freshName();
      let now = 10 * HOUR;
      const clock = { now: () => now };
      const store = await openStore(name, { ...clock, ledgerTtlMs: 24 * HOUR, ledgerPruneIntervalMs: HOUR });
      const [old, recent, later, last] = makeOps(4) as [ReturnType<typeof makeOp>, ReturnType<typeof makeOp>, ReturnType<typeof makeOp>, ReturnType<typeof makeOp>];
      for (const op of [old, recent, later, last]) await store.append(op);
      await store.complete(old, now);
      now += 20 * HOUR;
      await store.complete(recent, now);
      await store.close();

      now += 5 * HOUR; // old is 25 h old, recent 5 h
      const reopened = await openStore(name, { ...clock, ledgerTtlMs: 24 * HOUR, ledgerPruneIntervalMs: HOUR });
      // Opening walks no ledger: the expired entry is still there…
      expect(await reopened.isCompleted(old.idempotencyKey)).toBe(true);
      // …until the first complete prunes it (in the background; close waits).
      await reopened.complete(later, now);
      await reopened.close();
      const again = await openStore(name, { ...clock, ledgerTtlMs: 24 * HOUR, ledgerPruneIntervalMs: HOUR });
      expect(await again.isCompleted(old.idempotencyKey)).toBe(false);
      expect(await again.isCompleted(recent.idempotencyKey)).toBe(true);

      now += 20 * HOUR; // recent is now 25 h old; the next complete prunes it
      await again.complete(last, now);
      await again.close();
      const final = await openStore(name, { ...clock, ledgerTtlMs: 24 * HOUR });
      expect(await final.isCompleted(recent.idempotencyKey)).toBe(false);
      expect(await final.isCompleted(later.idempotencyKey)).toBe(true);
      expect(await final.isCompleted(last.idempotencyKey)).toBe(true);
      expect(await final.pruneLedger()).toBe(0);
    });

    it('rejects every call after close with StorageError(closed); changes$ completes', async () => {
      const store = await openStore(h.freshName());
      const done = firstValueFrom(store.changes$.pipe(toArray()));
      await store.close();
      expect(await done).toEqual([]);
      await expect(store.append(makeOp())).rejects.toMatchObject({ reason: 'closed' });
      await expect(store.peek(1)).rejects.toMatchObject({ reason: 'closed' });
      await expect(store.counts()).rejects.toMatchObject({ reason: 'closed' });
    });

    it('rejects an invalid op at append without writing anything', async () => {
      const store = await openStore(h.freshName());
      const bad = { ...makeOp(), attempts: -1 };
      await expect(store.append(bad)).rejects.toMatchObject({ name: 'ValidationError', reason: 'invalidPayload' });
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      await expect(store.append({ ...makeOp(), payload: cyclic })).rejects.toMatchObject({ name: 'ValidationError' });
      expect(await store.counts()).toEqual({ pending: 0, failed: 0 });
    });
  });
}
