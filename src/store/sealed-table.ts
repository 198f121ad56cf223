import * as E from '../fp/either';
import { pipe } from '../fp/pipe';
import type { DecryptFailure, RecordCipher } from '../crypto/record-cipher';
import { readRange } from '../drivers/read-range';
import type { RangeCapableForage } from '../drivers/range-driver';
import { StorageError } from '../errors/sync-error';
import { parseJson, type RecordDecoder } from './stored-records';

/** A stored entry as read: key and still-sealed value. */
export type RawEntry = readonly [string, unknown];

/** Options of a `SealedTable`. */
export interface SealedTableOptions {
  /**
   * `read` remembers the opened text of this many records (the last it
   * decrypted), each with the exact stored value it came from: a read that
   * finds that same value again skips the decryption. Default 0.
   */
  readonly rememberOpened?: number;
}

/**
 * One table of the store: a localforage instance whose every value is
 * AES-GCM sealed with the table name and the record's key as AAD (a record
 * moved to another slot does not open). Knows nothing of what the records
 * mean: callers hand it JSON text to seal and a decoder to read with.
 *
 * @example
 * const pending = new SealedTable(STORE_TABLES.pending, forage, cipher);
 * await pending.write(op.id, serializeOp(op));
 * const op = await pending.read(op.id, decodeStoredOp); // undefined when absent, throws StorageError('corrupt') when unreadable
 */
export class SealedTable {
  readonly name: string;
  /** The underlying instance (driver extras such as `setItems`, `setAndRemove`). */
  readonly forage: RangeCapableForage;
  readonly #cipher: RecordCipher;
  readonly #remember: number;
  /**
   * Key → the stored value last opened under it and its text. Decryption is
   * a pure function of the stored value, the key and the table (the AAD),
   * so an equal stored value opens to the same text; every write seals
   * with a fresh IV, so a changed record never equals the remembered value.
   */
  readonly #opened = new Map<string, { readonly stored: string; readonly text: string }>();

  constructor(name: string, forage: RangeCapableForage, cipher: RecordCipher, options: SealedTableOptions = {}) {
    this.name = name;
    this.forage = forage;
    this.#cipher = cipher;
    this.#remember = options.rememberOpened ?? 0;
  }

  /** The sealed form of `text` for the slot `key` of this table. */
  seal(key: string, text: string): Promise<string> {
    return this.#cipher.seal(this.name, key, text);
  }

  /** Decrypt a stored value read under `key`; never throws. */
  openText(key: string, value: unknown): Promise<E.Either<DecryptFailure, string>> {
    return this.#cipher.open(this.name, key, value);
  }

  /** Decrypt, parse and decode a stored value read under `key`; never throws (a bad record is a `Left`). */
  async open<A>(key: string, value: unknown, decode: RecordDecoder<A>): Promise<E.Either<string, A>> {
    const json = await this.openText(key, value);
    if (E.isLeft(json)) return E.left(json.left.detail);
    return pipe(
      parseJson(json.right),
      E.chain((u) => decode(u, key)),
    );
  }

  /** The record under `key`, or undefined when there is none; an unreadable one rejects with `StorageError('corrupt')`. */
  async read<A>(key: string, decode: RecordDecoder<A>): Promise<A | undefined> {
    const value = await this.forage.getItem<unknown>(key);
    if (value === null) return undefined;
    const r = pipe(
      await this.#openRemembered(key, value),
      E.chain(parseJson),
      E.chain((u) => decode(u, key)),
    );
    if (E.isLeft(r)) throw new StorageError('corrupt');
    return r.right;
  }

  /** `openText`, skipping the decryption when `value` is the one last opened under `key` (`rememberOpened`). */
  async #openRemembered(key: string, value: unknown): Promise<E.Either<string, string>> {
    const known = this.#opened.get(key);
    if (known !== undefined && known.stored === value) return E.right(known.text);
    const text = await this.openText(key, value);
    if (E.isLeft(text)) return E.left(text.left.detail);
    if (this.#remember > 0 && typeof value === 'string') {
      this.#opened.delete(key);
      this.#opened.set(key, { stored: value, text: text.right });
      // Forget the least recently opened beyond the bound (a Map keeps insertion order).
      if (this.#opened.size > this.#remember) this.#opened.delete(this.#opened.keys().next().value as string);
    }
    return E.right(text.right);
  }

  /** The stored (sealed) value under `key`, or null. */
  readRaw(key: string): Promise<unknown> {
    return this.forage.getItem<unknown>(key);
  }

  /** Seal `text` and write it under `key`. */
  async write(key: string, text: string): Promise<void> {
    await this.forage.setItem(key, await this.seal(key, text));
  }

  async has(key: string): Promise<boolean> {
    return (await this.forage.getItem(key)) !== null;
  }

  async remove(key: string): Promise<void> {
    await this.forage.removeItem(key);
  }

  /** Up to `limit` sealed entries with key strictly after `afterKey`, in key order (`readRange`). */
  page(afterKey: string | null, limit: number): Promise<RawEntry[]> {
    return readRange(this.forage, afterKey, limit);
  }

  /** Every sealed entry (the dead-letter list; small by design). */
  async all(): Promise<RawEntry[]> {
    const raw: RawEntry[] = [];
    await this.forage.iterate<unknown, void>((value, key) => {
      raw.push([key, value]);
    });
    return raw;
  }

  keys(): Promise<string[]> {
    return this.forage.keys();
  }

  length(): Promise<number> {
    return this.forage.length();
  }

  /** Release the handle (file, connection); never rejects. */
  async close(): Promise<void> {
    if (typeof this.forage.closeInstance === 'function') await this.forage.closeInstance().catch(() => undefined);
  }
}
