import * as E from 'fp-ts/Either';
import { webCryptoAesGcm } from '../../src/crypto/aes-gcm-engine';
import { generateStoreKey, RecordCipher } from '../../src/crypto/record-cipher';
import { nodeAesGcm } from '../../src/node/node-aes-gcm';

describe('nodeAesGcm', () => {
  it.each([
    ['node → Web Crypto', nodeAesGcm, webCryptoAesGcm],
    ['Web Crypto → node', webCryptoAesGcm, nodeAesGcm],
  ])('writes records the other engine opens (%s)', async (_l, sealer, opener) => {
    const key = await generateStoreKey();
    const a = new RecordCipher(key, sealer);
    const b = new RecordCipher(key, opener);
    for (const text of ['', 'hello', 'é'.repeat(1000)]) {
      const sealed = await a.seal('pending_ops', 'k', text);
      expect(await b.open('pending_ops', 'k', sealed)).toEqual(E.right(text));
      expect(E.isLeft(await b.open('pending_ops', 'other', sealed))).toBe(true);
    }
  });

  it('rejects a wrong key and a tampered tag as authentication failures', async () => {
    const cipher = new RecordCipher(await generateStoreKey(), nodeAesGcm);
    const sealed = await cipher.seal('t', 'k', 'payload');
    const other = new RecordCipher(await generateStoreKey(), nodeAesGcm);
    expect(await other.open('t', 'k', sealed)).toMatchObject(E.left({ kind: 'auth' }));
    const last = sealed.at(-3) === 'A' ? 'B' : 'A';
    const tampered = `${sealed.slice(0, -3)}${last}${sealed.slice(-2)}`;
    expect(await cipher.open('t', 'k', tampered)).toMatchObject(E.left({ kind: 'auth' }));
  });

  it('works with a non-extractable key without making it extractable', async () => {
    const key = await generateStoreKey(false);
    await new RecordCipher(key, nodeAesGcm).seal('t', 'k', 'x');
    expect(key.extractable).toBe(false);
    await expect(crypto.subtle.exportKey('raw', key)).rejects.toThrow();
  });
});
