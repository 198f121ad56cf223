import { generateStoreKey } from './record-cipher';

/** The IndexedDB database and object store that hold device keys. */
export const DEVICE_KEY_DB = 'sync-engine-keys';
const KEY_STORE = 'keys';

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function openKeyDb(factory: IDBFactory): Promise<IDBDatabase> {
  const req = factory.open(DEVICE_KEY_DB, 1);
  req.onupgradeneeded = () => {
    if (!req.result.objectStoreNames.contains(KEY_STORE)) req.result.createObjectStore(KEY_STORE);
  };
  return request(req);
}

/**
 * The store's default key in browsers: a non-extractable AES-GCM 256
 * `CryptoKey` made once per store name and kept in IndexedDB (structured
 * clone keeps the key object; script can use it but never read its bytes).
 *
 * Safe when several tabs open the store at once: the key is generated
 * first, then one read-write transaction keeps whichever key is already
 * stored and only adds ours if there is none, so every tab ends up with the
 * same key.
 *
 * @example
 * const key = await loadOrCreateDeviceKey('my-app');
 */
export async function loadOrCreateDeviceKey(
  name: string,
  factory: IDBFactory | undefined = globalThis.indexedDB,
): Promise<CryptoKey> {
  if (!factory) throw new Error('IndexedDB is not available to keep the default key; pass encryptionKey');
  const db = await openKeyDb(factory);
  try {
    const fresh = await generateStoreKey(false);
    return await new Promise<CryptoKey>((resolve, reject) => {
      const tx = db.transaction(KEY_STORE, 'readwrite');
      const store = tx.objectStore(KEY_STORE);
      let result: CryptoKey = fresh;
      const get = store.get(name);
      get.onsuccess = () => {
        const existing = get.result as unknown;
        if (existing instanceof CryptoKey) {
          result = existing;
        } else {
          store.put(fresh, name);
        }
      };
      tx.oncomplete = () => resolve(result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}
