/**
 * The AES-GCM primitive behind `RecordCipher`: encrypt returns
 * ciphertext‖tag (16-byte tag), decrypt takes the same and throws when
 * authentication fails. The default is Web Crypto; the Node entry point
 * swaps in `node:crypto` (same algorithm, same bytes, no thread-pool hop per
 * record), which is interchangeable record for record.
 */
export interface AesGcmEngine {
  encrypt(key: CryptoKey, iv: Uint8Array<ArrayBuffer>, aad: Uint8Array<ArrayBuffer>, data: Uint8Array<ArrayBuffer>): Promise<Uint8Array> | Uint8Array;
  decrypt(key: CryptoKey, iv: Uint8Array<ArrayBuffer>, aad: Uint8Array<ArrayBuffer>, data: Uint8Array<ArrayBuffer>): Promise<Uint8Array> | Uint8Array;
}

function subtle(): SubtleCrypto {
  const s = globalThis.crypto?.subtle;
  if (!s) throw new Error('Web Crypto (globalThis.crypto.subtle) is not available');
  return s;
}

/**
 * AES-GCM through `globalThis.crypto.subtle` (browsers, Node ≥ 20, Deno,
 * workers): the default engine of `createOpStore`.
 *
 * @example
 * const cipher = new RecordCipher(key, webCryptoAesGcm);
 */
export const webCryptoAesGcm: AesGcmEngine = {
  async encrypt(key, iv, aad, data) {
    return new Uint8Array(await subtle().encrypt({ name: 'AES-GCM', iv, additionalData: aad }, key, data));
  },
  async decrypt(key, iv, aad, data) {
    return new Uint8Array(await subtle().decrypt({ name: 'AES-GCM', iv, additionalData: aad }, key, data));
  },
};
