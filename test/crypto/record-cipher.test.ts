import * as E from 'fp-ts/Either';
import { generateStoreKey, RecordCipher, RECORD_FORMAT_VERSION } from '../../src/crypto/record-cipher';

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
