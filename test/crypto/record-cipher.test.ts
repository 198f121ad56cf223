import * as E from 'fp-ts/Either';
import { generateStoreKey, importStoreKey, RecordCipher, RECORD_FORMAT_VERSION, STORE_KEY_BYTES } from '../../src/crypto/record-cipher';
import { defineMemoryDriver } from '../../src/drivers/memory-driver';
import { StorageError, ValidationError } from '../../src/errors/sync-error';
import * as publicApi from '../../src/index';
import { createOpStore } from '../../src/store/create-op-store';
import { makeOp } from '../store/support/ops';

describe('RecordCipher', () => {
  let cipher: RecordCipher;
  beforeAll(async () => {
    cipher = new RecordCipher(await generateStoreKey());
  });

  it('round-trips text, including non-ASCII and large records', async () => {
    for (const text of ['', 'héllo 🌍', 'x'.repeat(200_000)]) {
      const sealed = await cipher.seal('pending_ops', 'k1', text);
      expect(await cipher.open('pending_ops', 'k1', sealed)).toEqual(E.right(text));
    }
  });

  it('writes a versioned form with a fresh 96-bit IV every time', async () => {
    const a = await cipher.seal('t', 'k', 'same');
    const b = await cipher.seal('t', 'k', 'same');
    expect(a).not.toBe(b);
    const [version, iv, ct] = a.split('.');
    expect(version).toBe(RECORD_FORMAT_VERSION);
    expect(Buffer.from(iv!, 'base64')).toHaveLength(12);
    expect(Buffer.from(ct!, 'base64')).toHaveLength('same'.length + 16); // + GCM tag
    expect(a).not.toContain('same');
  });

  it.each([
    ['another key', 'pending_ops', 'k2'],
    ['another table', 'failed_ops', 'k1'],
    ['a table/key split differently', 'pending_op', 'sk1'],
  ])('refuses a record moved to %s (AAD binds the slot)', async (_label, table, key) => {
    const sealed = await cipher.seal('pending_ops', 'k1', 'payload');
    const r = await cipher.open(table, key, sealed);
    expect(r).toEqual(E.left({ kind: 'auth', detail: expect.stringMatching(/^decrypt:/) }));
  });

  it('refuses a wrong key and tampered bytes as auth failures', async () => {
    const sealed = await cipher.seal('t', 'k', 'payload');
    const other = new RecordCipher(await generateStoreKey());
    expect(E.isLeft(await other.open('t', 'k', sealed))).toBe(true);
    const [v, iv, ct] = sealed.split('.') as [string, string, string];
    const bytes = Buffer.from(ct, 'base64');
    bytes[0] = bytes[0]! ^ 1;
    const tampered = [v, iv, bytes.toString('base64')].join('.');
    expect(await cipher.open('t', 'k', tampered)).toMatchObject(E.left({ kind: 'auth' }));
  });

  it.each([
    ['a non-string', 42, /expected string record, got number/],
    ['null', null, /got null/],
    ['plaintext', '{"a":1}', /unsupported record format version \(unknown\)/],
    ['a newer format', 'e2.AAAA.BBBB', /unsupported record format version \(e2\)/],
    ['a truncated record', 'e1.AAAA', /truncated/],
    ['a short IV', 'e1.AAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', /truncated/],
    ['bad base64', 'e1.!!!.???', /truncated/],
  ])('reports %s as a format failure without throwing', async (_label, stored, detail) => {
    expect(await cipher.open('t', 'k', stored)).toEqual(E.left({ kind: 'format', detail: expect.stringMatching(detail) }));
  });

  it('makes non-extractable keys unless asked', async () => {
    expect((await generateStoreKey()).extractable).toBe(false);
    expect((await generateStoreKey(true)).extractable).toBe(true);
  });
});

describe('importStoreKey', () => {
  const raw = (fill: number): Uint8Array<ArrayBuffer> => new Uint8Array(STORE_KEY_BYTES).fill(fill);
  let n = 0;

  test('is exported next to generateStoreKey', () => {
    expect(publicApi.importStoreKey).toBe(importStoreKey);
    expect(publicApi.generateStoreKey).toBe(generateStoreKey);
  });

  test('a store opened with the imported key reads what another, opened with the same raw bytes, wrote', async () => {
    const name = `import-store-key-${(n += 1)}`;
    const driver = await defineMemoryDriver();
    const bytes = raw(7);
    const writer = await createOpStore({ name, driver, encryptionKey: await importStoreKey(bytes) });
    const op = makeOp();
    await writer.append(op);
    await writer.close();
    // A separate copy of the same bytes (as read back from a keychain), as an ArrayBuffer.
    const reader = await createOpStore({ name, driver, encryptionKey: await importStoreKey(raw(7).buffer) });
    try {
      expect(await reader.peek(10)).toEqual([op]);
    } finally {
      await reader.close();
    }
  });

  test('other bytes: the store refuses to open with StorageError(wrongKey)', async () => {
    const name = `import-store-key-${(n += 1)}`;
    const driver = await defineMemoryDriver();
    const writer = await createOpStore({ name, driver, encryptionKey: await importStoreKey(raw(7)) });
    await writer.append(makeOp());
    await writer.close();
    const opened = createOpStore({ name, driver, encryptionKey: await importStoreKey(raw(8)) });
    await expect(opened).rejects.toBeInstanceOf(StorageError);
    await expect(opened).rejects.toMatchObject({ reason: 'wrongKey' });
  });

  test('the key is AES-GCM 256, non-extractable, for encrypt and decrypt', async () => {
    const key = await importStoreKey(raw(1));
    expect(key.extractable).toBe(false);
    expect(key.algorithm).toMatchObject({ name: 'AES-GCM', length: 256 });
    expect([...key.usages].sort()).toEqual(['decrypt', 'encrypt']);
    await expect(globalThis.crypto.subtle.exportKey('raw', key)).rejects.toThrow();
  });

  test('the bytes are copied: wiping the caller\'s buffer afterwards does not change the key', async () => {
    const bytes = raw(3);
    const key = await importStoreKey(bytes);
    bytes.fill(0);
    const sealed = await new RecordCipher(key).seal('t', 'k', 'x');
    expect(await new RecordCipher(await importStoreKey(raw(3))).open('t', 'k', sealed)).toEqual(E.right('x'));
  });

  test.each<[string, unknown, string]>([
    ['16 bytes (AES-128)', new Uint8Array(16), 'got 16 bytes'],
    ['31 bytes', new Uint8Array(31), 'got 31 bytes'],
    ['33 bytes', new Uint8Array(33), 'got 33 bytes'],
    ['no bytes', new Uint8Array(0), 'got 0 bytes'],
    ['a string', 'k'.repeat(32), 'got not bytes'],
    ['a plain array', Array.from({ length: 32 }, () => 1), 'got not bytes'],
  ])('refuses %s with ValidationError(invalidOptions)', async (_name, input, detail) => {
    const imported = importStoreKey(input as Uint8Array);
    await expect(imported).rejects.toBeInstanceOf(ValidationError);
    await expect(imported).rejects.toMatchObject({ reason: 'invalidOptions', detail: `importStoreKey: expected 32 bytes (AES-256), ${detail}` });
  });
});
