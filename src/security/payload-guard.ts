import { PayloadCopier, invalid } from './payload-copier';

/** Limits of `assertSafePayload`. */
export interface PayloadLimits {
  /** Deepest nesting of objects/arrays (the root is depth 1). Default 32. */
  readonly maxDepth?: number;
  /**
   * Largest payload, measured as the length of its JSON text (UTF-16 code
   * units, an upper bound of neither bytes nor characters but close to both
   * for ASCII). Default 1 000 000.
   */
  readonly maxBytes?: number;
  /** Longest single string (key or value). Default 262 144. */
  readonly maxStringLength?: number;
}

/** Defaults of `PayloadLimits`. */
export const PAYLOAD_LIMITS: Readonly<Required<PayloadLimits>> = {
  maxDepth: 32,
  maxBytes: 1_000_000,
  maxStringLength: 262_144,
};

export { FORBIDDEN_KEYS } from './payload-copier';

/**
 * Check that `payload` is plain JSON data of a sane size before anything is
 * persisted or sent; throws a `ValidationError` otherwise. The `detail` names
 * the path (`payload.items[3].title`), never the value. `enqueue` stores
 * what `safePayloadCopy` returns; this is the same check for callers that
 * only want the verdict.
 *
 * `invalidPayload`: nesting deeper than `maxDepth`, more than `maxBytes` of
 * JSON text, a string longer than `maxStringLength`, a `__proto__`,
 * `constructor` or `prototype` key.
 *
 * `notSerializable` (JSON would drop, alter or refuse it): BigInt, functions,
 * symbols, `undefined` at the root or in an array (and array holes), NaN and
 * ±Infinity, cycles, `Date` (send an ISO string: JSON turns a Date into a
 * string, so it would come back from the queue as a different type), and any
 * other non-plain object (Map, Set, class instances, typed arrays, objects
 * with `toJSON`), and a property that throws when read. An `undefined`
 * object property is allowed: JSON omits it, which is what an optional
 * field means.
 *
 * @example
 * assertSafePayload({ title: 'Buy milk' });       // ok
 * assertSafePayload(JSON.parse('{"__proto__":{}}')); // throws invalidPayload "payload.__proto__: forbidden key"
 */
export function assertSafePayload(payload: unknown, limits: PayloadLimits = {}, root = 'payload'): void {
  safePayloadCopy(payload, limits, root);
}

/**
 * The checks of `assertSafePayload`, returning the snapshot they were run
 * on: a copy made of fresh plain objects, arrays and primitives, built
 * while checking, reading every property of `payload` exactly once. The
 * size limit is checked on the copy's JSON text. Store and send the copy,
 * never `payload`: a getter, a Proxy or a `toJSON` on the caller's object
 * could otherwise show the checks one value and the serializer another
 * (a short title to the guard, 5 MB to the store), and a caller mutating
 * its object after `enqueue` cannot change the queued op.
 *
 * Iterative with an explicit stack (`PayloadCopier`): a hostile depth cannot
 * overflow the call stack, and it stops at the first problem (the running size is a lower
 * bound of the JSON length, so a huge payload is refused before it is
 * copied whole).
 *
 * @example
 * const payload = safePayloadCopy(input.payload, limits); // throws ValidationError
 * router.validate(type, payload);
 * store.append({ ...op, payload });
 */
export function safePayloadCopy(payload: unknown, limits: PayloadLimits = {}, root = 'payload'): unknown {
  const maxBytes = limits.maxBytes ?? PAYLOAD_LIMITS.maxBytes;
  const copier = new PayloadCopier(limits.maxDepth ?? PAYLOAD_LIMITS.maxDepth, maxBytes, limits.maxStringLength ?? PAYLOAD_LIMITS.maxStringLength);
  const snapshot = copier.copy(payload, root);
  // The exact size, on the snapshot that will be stored (escapes included).
  if (JSON.stringify(snapshot).length > maxBytes) throw invalid(root, `larger than ${maxBytes} bytes`);
  return snapshot;
}
