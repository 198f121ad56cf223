import * as E from '../fp/either';
import { LedgerEntryCodec, type LedgerEntry, type LedgerTables } from '../idempotency/ledger';
import type { PendingOp } from '../op/pending-op';
import type { SealedTables } from './open-tables';
import { codecDecoder, decodeStoredOp } from './stored-records';
import { toStorageError } from '../drivers/storage-errors';

const decodeLedgerEntry = codecDecoder(LedgerEntryCodec);

/**
 * The idempotency ledger's storage (`LedgerTables`) on the store's sealed
 * tables: entries in `idempotency_ledger` keyed by idempotency key, and the
 * pending-queue reads and removals the ledger's rules need.
 *
 * @example
 * const ledger = new IdempotencyLedger(ledgerTables(tables), options);
 */
export function ledgerTables({ ledger, pending }: SealedTables): LedgerTables {
  const setAndRemove = ledger.forage.setAndRemove;
  const writeBoth = async (op: PendingOp, json: string): Promise<void> => {
    if (typeof setAndRemove === 'function') {
      // One transaction (SQLite, memory, IndexedDB): ledger entry and
      // removal land together, one commit and one fsync, no state in between.
      const sealed = await ledger.seal(op.idempotencyKey, json);
      await setAndRemove.call(ledger.forage, op.idempotencyKey, sealed, pending.forage, op.id);
    } else {
      // Crash window: after the ledger write the op is done in effect;
      // open() removes it from pending, and isCompleted() already says so.
      await ledger.write(op.idempotencyKey, json);
      await pending.remove(op.id);
    }
  };
  // A full quota refuses every transaction that puts anything and commits
  // one that only deletes (docs/operating.md). The server accepted the op:
  // remove it first — a removed op is never resent, so nothing is doubled —
  // then record its key if there is room now. Without the entry another
  // engine's recovery says `unknown` for it, never `committed`
  // (recovered-result.ts).
  const onQuota = async (err: unknown, items: ReadonlyArray<{ readonly op: PendingOp; readonly json: string }>): Promise<void> => {
    if (toStorageError(err).reason !== 'quota') throw err;
    for (const { op, json } of items) {
      await pending.remove(op.id);
      await ledger.write(op.idempotencyKey, json).catch(() => undefined);
    }
  };
  const setAllAndRemove = ledger.forage.setAllAndRemove;
  const commitAll =
    typeof setAllAndRemove === 'function'
      ? async (all: ReadonlyArray<{ readonly op: PendingOp; readonly entry: LedgerEntry }>): Promise<void> => {
          const items = all.map(({ op, entry }) => ({ op, json: JSON.stringify(entry) }));
          try {
            // One transaction for every op: all completed, or all still pending.
            const sealed = await Promise.all(items.map(({ op, json }) => ledger.seal(op.idempotencyKey, json)));
            const entries = items.map(({ op }, i) => [op.idempotencyKey, sealed[i]] as const);
            await setAllAndRemove.call(ledger.forage, entries, pending.forage, items.map(({ op }) => op.id));
          } catch (err) {
            await onQuota(err, items);
          }
        }
      : undefined;
  return {
    completesAtomically: typeof setAndRemove === 'function',
    async commit(op: PendingOp, entry: LedgerEntry): Promise<void> {
      const json = JSON.stringify(entry);
      try {
        await writeBoth(op, json);
      } catch (err) {
        await onQuota(err, [{ op, json }]);
      }
    },
    ...(commitAll === undefined ? {} : { commitAll }),
    has: (key) => ledger.has(key),
    async page(afterKey, limit) {
      const page = await ledger.page(afterKey, limit);
      const out: Array<readonly [string, E.Either<string, LedgerEntry>]> = [];
      // One entry at a time, as before: a page never holds 100 decryptions in flight.
      for (const [key, value] of page) out.push([key, await ledger.open(key, value, decodeLedgerEntry)]);
      return out;
    },
    remove: (key) => ledger.remove(key),
    async pendingHead(limit) {
      const ops: PendingOp[] = [];
      for (const [key, value] of await pending.page(null, limit)) {
        const op = await pending.open(key, value, decodeStoredOp);
        // An unreadable record is left for `peek` to quarantine.
        if (E.isRight(op)) ops.push(op.right);
      }
      return ops;
    },
    isPending: (opId) => pending.has(opId),
    removePending: (opId) => pending.remove(opId),
  };
}
