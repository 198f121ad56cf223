import { ValidationError } from '../errors/sync-error';

const utf8 = new TextEncoder();

/**
 * The store name of one account's own queue: `base`, a dot, then the
 * account id as lowercase hex of its UTF-8 bytes — only `[0-9a-f]`, so it
 * is a safe IndexedDB name and a safe file name (SQLite: `createSqliteOpStore(storeNameFor('data/app.db', id))`)
 * on case-insensitive file systems too, and two ids never share a name.
 * For apps that prefer one store per account to one shared store whose ops
 * carry their `accountId`: the drain of a shared store re-reads the other
 * accounts' ops on every pass; a store per account never holds them. The
 * name is not a secret (the id reads back from it): use an opaque account
 * id if that matters. Throws `ValidationError('invalidOptions')` for an
 * empty `base` or account id.
 *
 * @example
 * const store = await createOpStore({ name: storeNameFor('todo-app', session.userId) });
 * // 'todo-app.616461' for 'ada'
 */
export function storeNameFor(base: string, accountId: string): string {
  if (typeof base !== 'string' || base === '') throw new ValidationError('invalidOptions', 'base: expected a non-empty string');
  if (typeof accountId !== 'string' || accountId === '') throw new ValidationError('invalidOptions', 'accountId: expected a non-empty string');
  let hex = '';
  for (const byte of utf8.encode(accountId)) hex += byte.toString(16).padStart(2, '0');
  return `${base}.${hex}`;
}
