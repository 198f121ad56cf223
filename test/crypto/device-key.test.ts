import { IDBFactory } from 'fake-indexeddb';
import * as E from 'fp-ts/Either';
import { loadOrCreateDeviceKey } from '../../src/crypto/device-key';
import { RecordCipher } from '../../src/crypto/record-cipher';
import { createOpStore } from '../../src/store/create-op-store';
import { makeOp } from '../store/support/ops';

// fake-indexeddb structured-clones a CryptoKey under Node 20 (checked), so
// this exercises the real keep-the-key-in-IndexedDB path.
describe('loadOrCreateDeviceKey', () => {
  it('makes a non-extractable AES-GCM key once and returns the same key afterwards', async () => {
    const factory = new IDBFactory();
    const first = await loadOrCreateDeviceKey('app', factory);
    const second = await loadOrCreateDeviceKey('app', factory);
    expect(first.extractable).toBe(false);
    expect(first.algorithm).toMatchObject({ name: 'AES-GCM', length: 256 });
    const sealed = await new RecordCipher(first).seal('t', 'k', 'hello');
    expect(await new RecordCipher(second).open('t', 'k', sealed)).toEqual(E.right('hello'));
    await expect(crypto.subtle.exportKey('raw', second)).rejects.toThrow();
  });

  it('gives concurrent first callers (several tabs) one and the same key', async () => {
    const factory = new IDBFactory();
    const keys = await Promise.all([1, 2, 3, 4].map(() => loadOrCreateDeviceKey('app', factory)));
    const sealed = await new RecordCipher(keys[0]!).seal('t', 'k', 'x');
    for (const k of keys) expect(E.isRight(await new RecordCipher(k).open('t', 'k', sealed))).toBe(true);
  });

  it('keeps separate keys per store name', async () => {
    const factory = new IDBFactory();
    const a = await loadOrCreateDeviceKey('a', factory);
    const b = await loadOrCreateDeviceKey('b', factory);
    const sealed = await new RecordCipher(a).seal('t', 'k', 'x');
    expect(E.isLeft(await new RecordCipher(b).open('t', 'k', sealed))).toBe(true);
  });

  it('is the default key of createOpStore when IndexedDB is present', async () => {
    const name = 'device-key-default';
    const store = await createOpStore({ name });
    const op = makeOp();
    await store.append(op);
    await store.close();
    const again = await createOpStore({ name });
    expect(await again.peek(1)).toEqual([op]);
    await again.close();
  });
});
