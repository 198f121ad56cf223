import { ValidationError } from '../../src/errors/sync-error';
import { defineMemoryDriver } from '../../src/drivers/memory-driver';
import { createOpStore } from '../../src/store/create-op-store';
import { assertDefaultDriverAvailable } from '../../src/store/default-driver-check';

const thrown = (fn: () => void): unknown => {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
};

describe('assertDefaultDriverAvailable', () => {
  test('no IndexedDB and no driver: ValidationError(invalidOptions) that names createSqliteOpStore from sync-engine/node', () => {
    const err = thrown(() => assertDefaultDriverAvailable(undefined, {}));
    expect(err).toBeInstanceOf(ValidationError);
    expect(err).toMatchObject({ reason: 'invalidOptions' });
    expect((err as Error).message).toContain("createSqliteOpStore(path) from 'sync-engine/node'");
  });

  test.each<[string, string | readonly string[] | undefined, object]>([
    ['IndexedDB present, no driver', undefined, { indexedDB: {} }],
    ['a driver given, no IndexedDB', 'syncEngineMemoryDriver', {}],
    ['drivers given, no IndexedDB', ['a', 'b'], {}],
  ])('passes with %s', (_name, driver, scope) => {
    expect(() => assertDefaultDriverAvailable(driver, scope as { indexedDB?: unknown })).not.toThrow();
  });
});

describe('createOpStore where there is no IndexedDB (Node)', () => {
  // Jest loads fake-indexeddb for every file (jest.config.ts): take it away here.
  let saved: PropertyDescriptor | undefined;
  beforeEach(() => {
    saved = Object.getOwnPropertyDescriptor(globalThis, 'indexedDB');
    delete (globalThis as { indexedDB?: unknown }).indexedDB;
  });
  afterEach(() => {
    if (saved) Object.defineProperty(globalThis, 'indexedDB', saved);
  });

  test('createOpStore({ name }) rejects with ValidationError pointing at createSqliteOpStore from sync-engine/node', async () => {
    expect(typeof (globalThis as { indexedDB?: unknown }).indexedDB).toBe('undefined');
    const opened = createOpStore({ name: 'no-indexeddb' });
    await expect(opened).rejects.toBeInstanceOf(ValidationError);
    await expect(opened).rejects.toThrow("createSqliteOpStore(path) from 'sync-engine/node'");
  });

  test('with a key but no driver: the same error, before localforage looks for IndexedDB', async () => {
    const encryptionKey = await globalThis.crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
    await expect(createOpStore({ name: 'no-indexeddb-key', encryptionKey })).rejects.toThrow("createSqliteOpStore(path) from 'sync-engine/node'");
  });

  test('a driver given still opens', async () => {
    const encryptionKey = await globalThis.crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
    const store = await createOpStore({ name: 'no-indexeddb-memory', driver: await defineMemoryDriver(), encryptionKey });
    await store.close();
  });
});
