import { map, type Observable } from 'rxjs';
import type { StorePort } from '../../streams/ports';
import type { OpId, PendingOp } from '../op/pending-op';

const HEX = '0123456789abcdef';

/**
 * The greatest string of `id`'s length and shape that sorts before it: the
 * last hex digit decremented, borrowing through `0`s (hyphens kept). Every
 * op id is a 36-character UUIDv7, so no other id lies between the two and
 * `peek(1, idBefore(id))` reads `id` itself when it is pending. Undefined
 * for an id with nothing before it (all zeros).
 *
 * @example
 * idBefore('018f0000-0000-7000-8000-000000000010'); // '018f0000-0000-7000-8000-00000000000f'
 */
export function idBefore(id: string): string | undefined {
  const chars = id.split('');
  for (let i = chars.length - 1; i >= 0; i--) {
    const c = chars[i] as string;
    const digit = HEX.indexOf(c.toLowerCase());
    if (digit < 0) continue;
    const upper = c !== c.toLowerCase();
    const prev = digit === 0 ? 'f' : (HEX[digit - 1] as string);
    chars[i] = upper ? prev.toUpperCase() : prev;
    if (digit > 0) return chars.join('');
  }
  return undefined;
}

/**
 * The pending op with this id, or undefined when it is not pending: one
 * `peek(1)` from just before it (no scan of the ops ahead of it).
 *
 * @example
 * findPendingOp(store, opId).subscribe((op) => (op ? cancel(op) : refuse()));
 */
export function findPendingOp(store: Pick<StorePort, 'peek'>, id: OpId): Observable<PendingOp | undefined> {
  return store.peek(1, idBefore(id) as OpId | undefined).pipe(map((batch) => (batch[0]?.id === id ? batch[0] : undefined)));
}
