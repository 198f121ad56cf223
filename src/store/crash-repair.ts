import type { IdempotencyLedger } from '../idempotency/ledger';
import type { SealedTables } from './open-tables';
import { RETRY_PREFIX } from './meta-keys';
import { RetryIntentCodec, codecDecoder } from './stored-records';

const decodeRetryIntent = codecDecoder(RetryIntentCodec);

/**
 * Open-time repair: finish or undo any `complete`/`fail`/`retry`/quarantine
 * a crash cut short, touching only what a crash can have left — never every
 * record, so opening costs the same with 200,000 ops queued or in the
 * ledger as with none.
 *
 * @example
 * await checkKey(tables);
 * await repairAfterCrash(tables, ledger);
 */
export async function repairAfterCrash(tables: SealedTables, ledger: IdempotencyLedger): Promise<void> {
  await repairRetries(tables);
  await repairFailedStillPending(tables);
  // `complete` cut between its two writes: the ledger's own rule.
  await ledger.repair();
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
