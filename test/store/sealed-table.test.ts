import localforage from 'localforage';
import { generateStoreKey, RecordCipher } from '../../src/crypto/record-cipher';
import { webCryptoAesGcm, type AesGcmEngine } from '../../src/crypto/aes-gcm-engine';
import { defineMemoryDriver } from '../../src/drivers/memory-driver';
import type { RangeCapableForage } from '../../src/drivers/range-driver';
import { StorageError } from '../../src/errors/sync-error';
import { SealedTable } from '../../src/store/sealed-table';
import * as E from '../../src/fp/either';

/** Web Crypto AES-GCM, counting decryptions. */
function countingEngine(): { engine: AesGcmEngine; decrypts: () => number } {
  let n = 0;
  const engine: AesGcmEngine = {
    ...webCryptoAesGcm,
    decrypt: (...args: Parameters<AesGcmEngine['decrypt']>) => {
      n += 1;
      return webCryptoAesGcm.decrypt(...args);
    },
  };
  return { engine, decrypts: () => n };
}

const asText = (u: unknown) => (typeof u === 'string' ? E.right(u) : E.left('not a string'));
let seq = 0;

async function table(rememberOpened: number) {
  const driver = await defineMemoryDriver();
  const forage = localforage.createInstance({ name: `sealed-table-${++seq}`, storeName: 'meta', driver }) as RangeCapableForage;
  await forage.ready();
  const counting = countingEngine();
  const t = new SealedTable('meta', forage, new RecordCipher(await generateStoreKey(), counting.engine), { rememberOpened });
  return { t, forage, decrypts: counting.decrypts };
}

describe('SealedTable.read with rememberOpened', () => {
  it('reading an unchanged record again skips the decryption; a rewritten one is decrypted and read anew', async () => {
    const { t, decrypts } = await table(4);
    await t.write('fence', JSON.stringify('token 1'));
    expect(await t.read('fence', asText)).toBe('token 1');
    expect(await t.read('fence', asText)).toBe('token 1');
    expect(await t.read('fence', asText)).toBe('token 1');
    expect(decrypts()).toBe(1);
    // Even the same text: a new write seals with a fresh IV, so it is opened again.
    await t.write('fence', JSON.stringify('token 2'));
    expect(await t.read('fence', asText)).toBe('token 2');
    expect(decrypts()).toBe(2);
    await t.remove('fence');
    expect(await t.read('fence', asText)).toBeUndefined();
  });

  it('a value that does not open (moved from another key) is still refused, never served from memory', async () => {
    const { t, forage } = await table(4);
    await t.write('a', JSON.stringify('A'));
    await t.write('b', JSON.stringify('B'));
    expect(await t.read('a', asText)).toBe('A');
    // b's ciphertext under a: its AAD names b, so it fails authentication.
    await forage.setItem('a', await forage.getItem('b'));
    await expect(t.read('a', asText)).rejects.toBeInstanceOf(StorageError);
  });

  it('remembers at most rememberOpened records; without the option every read decrypts', async () => {
    const bounded = await table(1);
    await bounded.t.write('a', JSON.stringify('A'));
    await bounded.t.write('b', JSON.stringify('B'));
    for (const k of ['a', 'b', 'a', 'b']) await bounded.t.read(k, asText);
    expect(bounded.decrypts()).toBe(4);

    const plain = await table(0);
    await plain.t.write('a', JSON.stringify('A'));
    for (let i = 0; i < 3; i++) await plain.t.read('a', asText);
    expect(plain.decrypts()).toBe(3);
  });
});
