import * as E from '../fp/either';
import { webCryptoAesGcm, type AesGcmEngine } from './aes-gcm-engine';
import { ValidationError } from '../errors/sync-error';
import { fromBase64, toBase64 } from './base64';

/**
 * The stored form of an encrypted record:
 * `e1.<base64 IV (12 bytes)>.<base64 AES-GCM ciphertext + 16-byte tag>`.
 * The `e1` prefix is the format version; a record with any other prefix was
 * written by a different (newer) version and is reported, never guessed at.
 */
export const RECORD_FORMAT_VERSION = 'e1' as const;

/** Why a stored record could not be opened (no plaintext in it, ever). */
export type DecryptFailure =
  | { readonly kind: 'format'; readonly detail: string }
  | { readonly kind: 'auth'; readonly detail: string };

const IV_BYTES = 12;
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Generate a fresh AES-GCM 256 key. Non-extractable by default, so script
 * can use it but never read its bytes.
 *
 * @example
 * const key = await generateStoreKey();
 * const store = await createOpStore({ name: 'app', encryptionKey: key });
 */
export async function generateStoreKey(extractable = false): Promise<CryptoKey> {
  return globalThis.crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, extractable, ['encrypt', 'decrypt']);
}

/** Length of a raw store key: AES-256. */
export const STORE_KEY_BYTES = 32;

/**
 * The store key from its 32 raw bytes (e.g. kept in the OS keychain, or
 * derived by the app), as a non-extractable AES-GCM 256 `CryptoKey`: the
 * same bytes open what any store sealed with them. Any other length is
 * refused with `ValidationError('invalidOptions')` (the message gives the
 * length, never the bytes); the bytes are copied, so the caller may wipe
 * its buffer afterwards.
 *
 * @example
 * const encryptionKey = await importStoreKey(base64ToBytes(await keychain.get('queue-key')));
 * const store = await createOpStore({ name: 'app', encryptionKey });
 */
export async function importStoreKey(rawBytes: Uint8Array | ArrayBuffer): Promise<CryptoKey> {
  const bytes = copyBytes(rawBytes);
  if (bytes === undefined || bytes.byteLength !== STORE_KEY_BYTES) {
    const got = bytes === undefined ? 'not bytes' : `${bytes.byteLength} bytes`;
    throw new ValidationError('invalidOptions', `importStoreKey: expected ${STORE_KEY_BYTES} bytes (AES-256), got ${got}`);
  }
  return globalThis.crypto.subtle.importKey('raw', bytes, { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']);
}

// By tag, not instanceof: a buffer from another realm (iframe, worker, vm) is still bytes.
function copyBytes(raw: unknown): Uint8Array<ArrayBuffer> | undefined {
  if (ArrayBuffer.isView(raw)) return new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength).slice();
  if (Object.prototype.toString.call(raw) === '[object ArrayBuffer]') return new Uint8Array(raw as ArrayBuffer).slice();
  return undefined;
}

/**
 * Seals and opens records with AES-GCM 256: a fresh random 96-bit IV per
 * write and the record's slot (`table` + storage key) as additional
 * authenticated data, so a ciphertext moved to another key or table fails
 * authentication instead of decrypting as the wrong record.
 *
 * @example
 * const cipher = new RecordCipher(key);
 * const stored = await cipher.seal('pending_ops', op.id, JSON.stringify(op));
 * const opened = await cipher.open('pending_ops', op.id, stored); // Either
 */
export class RecordCipher {
  readonly #key: CryptoKey;
  readonly #engine: AesGcmEngine;

  constructor(key: CryptoKey, engine: AesGcmEngine = webCryptoAesGcm) {
    this.#key = key;
    this.#engine = engine;
  }

  /** Encrypt `plaintext` for the slot `table`/`key`. */
  async seal(table: string, key: string, plaintext: string): Promise<string> {
    const iv = this.#nextIv();
    const ct = await this.#engine.encrypt(this.#key, iv, encoder.encode(aad(table, key)), encoder.encode(plaintext));
    return `${RECORD_FORMAT_VERSION}.${toBase64(iv)}.${toBase64(ct)}`;
  }

  // IVs are drawn from a pool refilled by one getRandomValues call per 256
  // records (a call costs as much as the AES itself); each IV is used once.
  #ivPool = new Uint8Array(0);
  #ivOffset = 0;

  #nextIv(): Uint8Array<ArrayBuffer> {
    if (this.#ivOffset + IV_BYTES > this.#ivPool.length) {
      this.#ivPool = globalThis.crypto.getRandomValues(new Uint8Array(IV_BYTES * 256));
      this.#ivOffset = 0;
    }
    const iv = this.#ivPool.slice(this.#ivOffset, this.#ivOffset + IV_BYTES);
    this.#ivOffset += IV_BYTES;
    return iv;
  }

  /**
   * Decrypt a stored record of the slot `table`/`key`. Never throws: a value
   * that is not our format, or fails authentication (wrong key, tampering,
   * moved from another slot), is a `Left` naming only the kind of failure.
   */
  async open(table: string, key: string, stored: unknown): Promise<E.Either<DecryptFailure, string>> {
    if (typeof stored !== 'string') {
      return E.left({ kind: 'format', detail: `format: expected string record, got ${stored === null ? 'null' : typeof stored}` });
    }
    const parts = stored.split('.');
    if (parts[0] !== RECORD_FORMAT_VERSION) {
      const v = /^e\d+$/.test(parts[0] ?? '') ? parts[0] : 'unknown';
      return E.left({ kind: 'format', detail: `format: unsupported record format version (${v})` });
    }
    if (parts.length !== 3) return E.left({ kind: 'format', detail: 'format: truncated record' });
    const iv = fromBase64(parts[1] ?? '');
    const ct = fromBase64(parts[2] ?? '');
    if (!iv || iv.length !== IV_BYTES || !ct || ct.length < 16) {
      return E.left({ kind: 'format', detail: 'format: truncated record' });
    }
    try {
      const pt = await this.#engine.decrypt(this.#key, iv, encoder.encode(aad(table, key)), ct);
      return E.right(decoder.decode(pt));
    } catch {
      return E.left({ kind: 'auth', detail: 'decrypt: authentication failed (wrong key or tampered record)' });
    }
  }
}

// Length-prefixed so ("ab","c") and ("a","bc") can never share an AAD.
function aad(table: string, key: string): string {
  return `${table.length}:${table}:${key}`;
}
