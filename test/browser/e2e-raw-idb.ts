/**
 * Page-side, for the at-rest test: read every IndexedDB database of the
 * origin with the raw IndexedDB API (not through localforage or the store)
 * and look for a marker in every key and value, however it is stored.
 */

function req<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

function openExisting(name: string): Promise<IDBDatabase> {
  return req(indexedDB.open(name));
}

const latin1 = (bytes: Uint8Array): string => Array.from(bytes, (b) => String.fromCharCode(b)).join('');

/** Every way a value can hold text: strings, JSON, bytes as UTF-8, UTF-16 and Latin-1, Blobs. */
async function textsOf(value: unknown, out: string[]): Promise<void> {
  if (typeof value === 'string') out.push(value);
  else if (value instanceof Blob) out.push(latin1(new Uint8Array(await value.arrayBuffer())));
  else if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) {
    const bytes = value instanceof ArrayBuffer ? new Uint8Array(value) : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    out.push(latin1(bytes), new TextDecoder('utf-8').decode(bytes));
    if (bytes.byteLength % 2 === 0) out.push(new TextDecoder('utf-16le').decode(bytes));
  } else if (Array.isArray(value)) for (const v of value) await textsOf(v, out);
  else if (value !== null && typeof value === 'object' && !(value instanceof CryptoKey)) {
    for (const [k, v] of Object.entries(value)) {
      out.push(k);
      await textsOf(v, out);
    }
  } else if (value !== undefined && !(value instanceof CryptoKey)) out.push(String(value));
}

/** The marker as found in text, or base64 of it at any of the three byte alignments. */
function needles(marker: string): string[] {
  const b64 = (s: string) => btoa(s).replace(/=+$/, '');
  return [marker, b64(marker).slice(0, -2), b64(`x${marker}`).slice(4, -2), b64(`xx${marker}`).slice(4, -2)];
}

/** Where a marker occurs in the origin's IndexedDB, and how many records were read per store. */
export interface RawScan {
  readonly stores: Readonly<Record<string, number>>;
  readonly hits: readonly string[];
  readonly bytes: number;
}

/**
 * Read every record (keys and values) of every object store of every
 * database of this origin and report the `db/store` places where
 * `marker` appears.
 */
export async function scanIndexedDb(marker: string): Promise<RawScan> {
  const stores: Record<string, number> = {};
  const hits = new Set<string>();
  let bytes = 0;
  const find = needles(marker);
  for (const { name } of await indexedDB.databases()) {
    if (!name) continue;
    const db = await openExisting(name);
    try {
      for (const storeName of Array.from(db.objectStoreNames)) {
        const store = db.transaction(storeName, 'readonly').objectStore(storeName);
        const [keys, values] = await Promise.all([req(store.getAllKeys()), req(store.getAll())]);
        const texts: string[] = [];
        await textsOf(keys, texts);
        await textsOf(values, texts);
        stores[`${name}/${storeName}`] = values.length;
        for (const text of texts) {
          bytes += text.length;
          if (find.some((n) => text.includes(n))) hits.add(`${name}/${storeName}`);
        }
      }
    } finally {
      db.close();
    }
  }
  return { stores, hits: [...hits], bytes };
}

/** Write a plaintext record into a scratch database: the scan's positive control. */
export async function writePlaintextControl(marker: string): Promise<void> {
  const open = indexedDB.open('e2e-plaintext-control', 1);
  open.onupgradeneeded = () => open.result.createObjectStore('records');
  const db = await req(open);
  const tx = db.transaction('records', 'readwrite');
  tx.objectStore('records').put(new TextEncoder().encode(`{"title":"${marker}"}`), 'k');
  await new Promise<void>((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
  });
  db.close();
}

export async function deletePlaintextControl(): Promise<void> {
  await req(indexedDB.deleteDatabase('e2e-plaintext-control') as unknown as IDBRequest<unknown>);
}

/** The store's device key as kept in IndexedDB: what it is, and whether its bytes can be read out. */
export async function readDeviceKey(storeName: string): Promise<Record<string, unknown>> {
  const db = await openExisting('sync-engine-keys');
  try {
    const key = await req(db.transaction('keys', 'readonly').objectStore('keys').get(storeName));
    if (!(key instanceof CryptoKey)) return { isCryptoKey: false, type: typeof key };
    let exportError: string | undefined;
    for (const format of ['raw', 'jwk'] as const) {
      try {
        await crypto.subtle.exportKey(format, key);
      } catch (e) {
        exportError = (e as Error).name;
        continue;
      }
      return { isCryptoKey: true, exported: format };
    }
    const algorithm = key.algorithm as AesKeyAlgorithm;
    return { isCryptoKey: true, extractable: key.extractable, algorithm: algorithm.name, length: algorithm.length, usages: [...key.usages].sort(), exportError };
  } finally {
    db.close();
  }
}
