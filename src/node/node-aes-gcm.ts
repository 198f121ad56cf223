import { KeyObject, createCipheriv, createDecipheriv } from 'node:crypto';
import type { AesGcmEngine } from '../crypto/aes-gcm-engine';

const TAG_BYTES = 16;
// KeyObject.from works on non-extractable CryptoKeys: the key stays an
// opaque handle, its bytes are never copied into JS.
const handles = new WeakMap<CryptoKey, KeyObject>();
const handleOf = (key: CryptoKey): KeyObject => {
  let h = handles.get(key);
  if (!h) {
    h = KeyObject.from(key);
    handles.set(key, h);
  }
  return h;
};

/**
 * AES-256-GCM through `node:crypto`, synchronously: byte for byte the same
 * records as Web Crypto (ciphertext‖16-byte tag, same IV and AAD), minus the
 * thread-pool round trip Web Crypto makes in Node for every record
 * (docs/performance.md, "Why the hot path looks like this"). The default
 * of `createSqliteOpStore`.
 *
 * @example
 * const store = await createOpStore({ name, driver, encryptionKey, aesGcm: nodeAesGcm });
 */
export const nodeAesGcm: AesGcmEngine = {
  encrypt(key, iv, aad, data) {
    const c = createCipheriv('aes-256-gcm', handleOf(key), iv, { authTagLength: TAG_BYTES });
    c.setAAD(aad);
    return Buffer.concat([c.update(data), c.final(), c.getAuthTag()]);
  },
  decrypt(key, iv, aad, data) {
    if (data.length < TAG_BYTES) throw new Error('ciphertext too short');
    const d = createDecipheriv('aes-256-gcm', handleOf(key), iv, { authTagLength: TAG_BYTES });
    d.setAAD(aad);
    d.setAuthTag(data.subarray(data.length - TAG_BYTES));
    return Buffer.concat([d.update(data.subarray(0, data.length - TAG_BYTES)), d.final()]);
  },
};
