import type { IdempotencyLedger } from '../idempotency/ledger';
import type { SealedTables } from './open-tables';
import { RETRY_PREFIX } from './meta-keys';
import { RetryIntentCodec, codecDecoder } from './stored-records';
import { writeSchema, type StoreSchema } from './check-key';

const decodeRetryIntent = codecDecoder(RetryIntentCodec);

/**
 * Open-time repair: finish or undo any `complete`/`fail`/`retry`/quarantine
 * a crash cut short, touching only what a crash can have left — never every
 * record, so opening costs the same with 200,000 ops queued or in the
 * ledger as with none.
 *
 * @example
 * const schema = await checkKey(tables);
 * await repairAfterCrash(tables, ledger, schema);
 */
export async function repairAfterCrash(tables: SealedTables, ledger: IdempotencyLedger, schema: StoreSchema): Promise<void> {
  await repairRetries(tables);
  await repairFailedStillPending(tables);
  await repairCompletions(tables, ledger, schema);
}

/**
 * `complete` cut between its two writes: the ledger's own rule. Where
 * `complete` is one transaction no such cut can happen — but the store may
 * have been written where it was two writes (an earlier version on
 * IndexedDB, a driver without `setAndRemove`): then the first open checks
 * the head of the queue once and records in the layout that it did; a
 * two-write open clears the mark again.
 */
async function repairCompletions(tables: SealedTables, ledger: IdempotencyLedger, schema: StoreSchema): Promise<void> {
  const checked = schema.atomicComplete === true;
  await ledger.repair(!checked);
  if (checked !== ledger.completesAtomically) {
    await writeSchema(tables, { ...schema, atomicComplete: ledger.completesAtomically });
  }
}

/** A retry cut short: new op appended → drop the failed copy; else just forget the intent. */
async function repairRetries({ meta, pending, failed }: SealedTables): Promise<void> {
  const intents = (await meta.keys()).filter((k) => k.startsWith(RETRY_PREFIX));
  for (const intentKey of intents) {
    const failedId = intentKey.slice(RETRY_PREFIX.length);
    const intent = await meta.read(intentKey, decodeRetryIntent);
    if (intent !== undefined && (await pending.has(intent.newId))) {
      await failed.remove(failedId);
    }
    await meta.remove(intentKey);
  }
}

/** `fail` or a quarantine cut short: the dead-letter copy wins. */
async function repairFailedStillPending({ pending, failed }: SealedTables): Promise<void> {
  for (const id of await failed.keys()) {
    if (await pending.has(id)) await pending.remove(id);
  }
}
