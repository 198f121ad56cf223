import * as E from '../fp/either';
import * as t from 'io-ts';
import { StorageError } from '../errors/sync-error';
import { STORE_SCHEMA_VERSION } from './op-store-options';
import type { SealedTables } from './open-tables';
import { CANARY_KEY, CANARY_TEXT, SCHEMA_KEY } from './meta-keys';
import { codecDecoder } from './stored-records';

const decodeSchema = codecDecoder(t.type({ version: t.number }));

/**
 * The first step of opening: prove the key against the encrypted canary
 * (wrong key → `StorageError('wrongKey')`, nothing touched) and refuse a
 * layout written by a newer build (`StorageError('corrupt')`). A store with
 * no canary yet gets one — after checking that a record already there, if
 * any, opens with this key.
 *
 * @example
 * await checkKey(tables); // then repair
 */
export async function checkKey(tables: SealedTables): Promise<void> {
  const { meta } = tables;
  const canary = await meta.readRaw(CANARY_KEY);
  if (canary === null) return vouchForNewKey(tables);
  const opened = await meta.openText(CANARY_KEY, canary);
  if (E.isLeft(opened)) {
    throw new StorageError(opened.left.kind === 'auth' ? 'wrongKey' : 'corrupt');
  }
  if (opened.right !== CANARY_TEXT) throw new StorageError('wrongKey');
  const schema = await meta.read(SCHEMA_KEY, decodeSchema);
  if (schema !== undefined && schema.version > STORE_SCHEMA_VERSION) {
    // Written by a newer build: refuse rather than misread the layout.
    throw new StorageError('corrupt');
  }
}

/**
 * No canary yet. If records exist anyway (meta lost or from a build without
 * one), one of them must open with this key before we vouch for it.
 */
async function vouchForNewKey(tables: SealedTables): Promise<void> {
  for (const table of [tables.pending, tables.failed]) {
    const [first] = await table.page(null, 1);
    if (first) {
      const opened = await table.openText(first[0], first[1]);
      if (E.isLeft(opened) && opened.left.kind === 'auth') throw new StorageError('wrongKey');
    }
  }
  await tables.meta.write(SCHEMA_KEY, JSON.stringify({ version: STORE_SCHEMA_VERSION }));
  await tables.meta.write(CANARY_KEY, CANARY_TEXT);
}
