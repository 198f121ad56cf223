import * as E from 'fp-ts/Either';
import { IdempotencyLedger, LEDGER_PAGE, LEDGER_REPAIR_WINDOW, type LedgerEntry, type LedgerTables } from '../../src/idempotency/ledger';
import type { PendingOp } from '../../src/op/pending-op';
import { makeOp, makeOps } from '../store/support/ops';

const TTL = 1000;

/** In-memory `LedgerTables` logging every call, in order. */
class FakeTables implements LedgerTables {
  readonly ledger = new Map<string, E.Either<string, LedgerEntry>>();
  readonly pending = new Map<string, PendingOp>();
  readonly log: string[] = [];
  constructor(readonly completesAtomically: boolean) {}

  async commit(op: PendingOp, entry: LedgerEntry): Promise<void> {
    this.log.push(`commit ${op.id}`);
    this.ledger.set(op.idempotencyKey, E.right(entry));
    this.pending.delete(op.id);
  }
  async has(key: string): Promise<boolean> {
    return this.ledger.has(key);
  }
  async page(afterKey: string | null, limit: number): Promise<ReadonlyArray<readonly [string, E.Either<string, LedgerEntry>]>> {
    this.log.push(`page ${limit}`);
    return [...this.ledger.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .filter(([k]) => afterKey === null || k > afterKey)
      .slice(0, limit);
  }
  async remove(key: string): Promise<void> {
    this.log.push(`remove ${key}`);
    this.ledger.delete(key);
  }
  async pendingHead(limit: number): Promise<readonly PendingOp[]> {
    this.log.push(`pendingHead ${limit}`);
    return [...this.pending.values()].slice(0, limit);
  }
  async isPending(opId: string): Promise<boolean> {
    return this.pending.has(opId);
  }
  async removePending(opId: string): Promise<void> {
    this.log.push(`removePending ${opId}`);
    this.pending.delete(opId);
  }
}

function ledgerOn(tables: FakeTables, clock: { t: number }, pruneIntervalMs = 100) {
  let yields = 0;
  const ledger = new IdempotencyLedger(tables, {
    now: () => clock.t,
    ttlMs: TTL,
    pruneIntervalMs,
    yieldBetweenPages: async () => {
      yields += 1;
    },
  });
  return { ledger, yields: () => yields };
}

/** Lets every pending promise callback run (the fake tables answer at once). */
const settled = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('IdempotencyLedger', () => {
  it('record writes the entry (op id, time) under the op key and takes the op out of pending; has() answers by presence', async () => {
    const tables = new FakeTables(true);
    const { ledger } = ledgerOn(tables, { t: 0 });
    const op = makeOp();
    tables.pending.set(op.id, op);
    expect(await ledger.has(op.idempotencyKey)).toBe(false);
    await ledger.record(op, 42);
    expect(tables.ledger.get(op.idempotencyKey)).toEqual(E.right({ opId: op.id, completedAt: 42 }));
    expect(tables.pending.has(op.id)).toBe(false);
    expect(await ledger.has(op.idempotencyKey)).toBe(true);
  });

  it('repair reads nothing where record is one transaction', async () => {
    const tables = new FakeTables(true);
    await ledgerOn(tables, { t: 0 }).ledger.repair();
    expect(tables.log).toEqual([]);
  });

  it('repair, where record is two writes, drops from the head of pending only the ops already in the ledger', async () => {
    const tables = new FakeTables(false);
    const [done, open] = makeOps(2) as [PendingOp, PendingOp];
    for (const op of [done, open]) tables.pending.set(op.id, op);
    tables.ledger.set(done.idempotencyKey, E.right({ opId: done.id, completedAt: 1 }));
    await ledgerOn(tables, { t: 0 }).ledger.repair();
    expect(tables.log).toEqual([`pendingHead ${LEDGER_REPAIR_WINDOW}`, `removePending ${done.id}`]);
    expect([...tables.pending.keys()]).toEqual([open.id]);
  });

  it('prune removes exactly the entries older than the TTL, the pending op before its entry, and keeps unreadable ones', async () => {
    const tables = new FakeTables(false);
    const clock = { t: 10_000 };
    const [old, edge, fresh] = makeOps(3) as [PendingOp, PendingOp, PendingOp];
    tables.pending.set(old.id, old);
    tables.ledger.set(old.idempotencyKey, E.right({ opId: old.id, completedAt: clock.t - TTL - 1 }));
    tables.ledger.set(edge.idempotencyKey, E.right({ opId: edge.id, completedAt: clock.t - TTL }));
    tables.ledger.set(fresh.idempotencyKey, E.right({ opId: fresh.id, completedAt: clock.t }));
    tables.ledger.set('unreadable', E.left('decrypt: authentication failed'));
    expect(await ledgerOn(tables, clock).ledger.prune()).toBe(1);
    expect([...tables.ledger.keys()].sort()).toEqual([edge.idempotencyKey, fresh.idempotencyKey, 'unreadable'].sort());
    const removals = tables.log.filter((l) => l.startsWith('remove'));
    expect(removals).toEqual([`removePending ${old.id}`, `remove ${old.idempotencyKey}`]);
  });

  it('prune reads a page at a time and yields between pages', async () => {
    const tables = new FakeTables(true);
    // Two full pages and a half one.
    const ops = makeOps(2 * LEDGER_PAGE + Math.ceil(LEDGER_PAGE / 2));
    for (const op of ops) tables.ledger.set(op.idempotencyKey, E.right({ opId: op.id, completedAt: 0 }));
    const { ledger, yields } = ledgerOn(tables, { t: 10 * TTL });
    expect(await ledger.prune()).toBe(ops.length);
    expect(tables.log.filter((l) => l.startsWith('page'))).toEqual(Array(4).fill(`page ${LEDGER_PAGE}`));
    // Before every page but the first (the last read finds the end).
    expect(yields()).toBe(3);
  });

  it('schedulePrune prunes on the first call, then at most once per interval, never two at once', async () => {
    const tables = new FakeTables(true);
    const clock = { t: 5000 };
    const { ledger } = ledgerOn(tables, clock, 100);
    const pages = (): number => tables.log.filter((l) => l.startsWith('page')).length;
    ledger.schedulePrune();
    ledger.schedulePrune(); // one running: ignored
    await settled();
    expect(pages()).toBe(1);
    clock.t += 99;
    ledger.schedulePrune(); // within the interval: ignored
    await settled();
    expect(pages()).toBe(1);
    clock.t += 1;
    ledger.schedulePrune();
    await settled();
    expect(pages()).toBe(2);
  });

  it('close stops a running prune after its page and waits for it; no prune starts afterwards', async () => {
    const tables = new FakeTables(true);
    const ops = makeOps(3 * LEDGER_PAGE);
    for (const op of ops) tables.ledger.set(op.idempotencyKey, E.right({ opId: op.id, completedAt: 0 }));
    const { ledger } = ledgerOn(tables, { t: 10 * TTL });
    ledger.schedulePrune();
    await ledger.close();
    expect(tables.log.filter((l) => l.startsWith('page'))).toEqual([`page ${LEDGER_PAGE}`]);
    expect(tables.ledger.size).toBe(2 * LEDGER_PAGE);
    ledger.schedulePrune();
    await settled();
    expect(tables.log.filter((l) => l.startsWith('page'))).toHaveLength(1);
  });
});
