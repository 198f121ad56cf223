import { ValidationError } from '../errors/sync-error';

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

/** Keys refused anywhere in a payload: they pollute prototypes on merge. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

// Word-like keys (letters, `_`, `$`, `-`, a short numeric suffix): schema
// field names. Anything else (an e-mail, an id, a token used as a key) could
// itself be user data or a secret.
const SAFE_KEY = /^[A-Za-z_$][A-Za-z_$-]{0,31}[0-9]{0,3}$/;

// A path names where the problem is, never a value.
const segment = (key: string): string => (SAFE_KEY.test(key) ? `.${key}` : '.<key>');

const invalid = (path: string, what: string): ValidationError => new ValidationError('invalidPayload', `${path}: ${what}`);
const notSerializable = (path: string, what: string): ValidationError =>
  new ValidationError('notSerializable', `${path}: ${what}`);

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

type Holder = Record<string, unknown> | unknown[];
type Frame = { value: unknown; path: string; depth: number; into: Holder; at: string | number } | { exit: object };

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
 * Iterative with an explicit stack: a hostile depth cannot overflow the call
 * stack, and it stops at the first problem (the running size is a lower
 * bound of the JSON length, so a huge payload is refused before it is
 * copied whole).
 *
 * @example
 * const payload = safePayloadCopy(input.payload, limits); // throws ValidationError
 * router.validate(type, payload);
 * store.append({ ...op, payload });
 */
export function safePayloadCopy(payload: unknown, limits: PayloadLimits = {}, root = 'payload'): unknown {
  const maxDepth = limits.maxDepth ?? PAYLOAD_LIMITS.maxDepth;
  const maxBytes = limits.maxBytes ?? PAYLOAD_LIMITS.maxBytes;
  const maxString = limits.maxStringLength ?? PAYLOAD_LIMITS.maxStringLength;

  // JSON length of what was copied so far, except escapes (a lower bound).
  let bytes = 0;
  const add = (n: number, path: string): void => {
    bytes += n;
    if (bytes > maxBytes) throw invalid(path, `larger than ${maxBytes} bytes`);
  };
  const checkString = (s: string, path: string): void => {
    if (s.length > maxString) throw invalid(path, `string longer than ${maxString}`);
  };

  // Objects on the current path, for cycle detection (a DAG is fine).
  const ancestors = new Set<object>();
  const out: unknown[] = [undefined];
  const stack: Frame[] = [{ value: payload, path: root, depth: 1, into: out, at: 0 }];
  let path = root;

  try {
    while (stack.length > 0) {
      const frame = stack.pop()!;
      if ('exit' in frame) {
        ancestors.delete(frame.exit);
        continue;
      }
      const { value, depth, into, at } = frame;
      path = frame.path;
      switch (typeof value) {
        case 'string':
          checkString(value, path);
          add(value.length + 2, path);
          (into as Record<string | number, unknown>)[at] = value;
          continue;
        case 'boolean':
          add(value ? 4 : 5, path);
          (into as Record<string | number, unknown>)[at] = value;
          continue;
        case 'number':
          if (!Number.isFinite(value)) throw notSerializable(path, 'NaN or Infinity');
          add(String(value).length, path);
          (into as Record<string | number, unknown>)[at] = value;
          continue;
        case 'bigint':
          throw notSerializable(path, 'BigInt');
        case 'function':
          throw notSerializable(path, 'function');
        case 'symbol':
          throw notSerializable(path, 'symbol');
        case 'undefined':
          throw notSerializable(path, 'undefined');
      }
      if (value === null) {
        add(4, path);
        (into as Record<string | number, unknown>)[at] = null;
        continue;
      }
      const obj = value as object;
      if (ancestors.has(obj)) throw notSerializable(path, 'cycle');
      if (depth > maxDepth) throw invalid(path, `nested deeper than ${maxDepth}`);
      if (obj instanceof Date) throw notSerializable(path, 'Date (send an ISO string)');

      if (Array.isArray(obj)) {
        // Read once: a Proxy could answer differently each time.
        const length = obj.length;
        add(2, path);
        const copy: unknown[] = [];
        (into as Record<string | number, unknown>)[at] = copy;
        ancestors.add(obj);
        stack.push({ exit: obj });
        // Pushed in reverse so items are checked in order; a sparse array with
        // a huge length fails on its first hole, before any real work.
        const items: Frame[] = [];
        for (let i = 0; i < length; i++) {
          path = `${frame.path}[${i}]`;
          if (!(i in obj)) throw notSerializable(path, 'array hole');
          const item = (obj as unknown[])[i];
          if (item === undefined) throw notSerializable(path, 'undefined in array');
          if (i > 0) add(1, path);
          items.push({ value: item, path, depth: depth + 1, into: copy, at: i });
        }
        for (let i = items.length - 1; i >= 0; i--) stack.push(items[i]!);
        continue;
      }

      const proto = Object.getPrototypeOf(obj) as unknown;
      if (proto !== Object.prototype && proto !== null) throw notSerializable(path, 'not a plain object');
      if (typeof (obj as { toJSON?: unknown }).toJSON === 'function') throw notSerializable(path, 'object with toJSON');

      add(2, path);
      const copy: Record<string, unknown> = {};
      (into as Record<string | number, unknown>)[at] = copy;
      ancestors.add(obj);
      stack.push({ exit: obj });
      const children: Frame[] = [];
      for (const key of Object.keys(obj)) {
        path = `${frame.path}${segment(key)}`;
        if (FORBIDDEN_KEYS.has(key)) throw invalid(path, 'forbidden key');
        checkString(key, path);
        const child = (obj as Record<string, unknown>)[key];
        if (child === undefined) continue; // omitted by JSON, like an absent optional field
        add(key.length + (children.length > 0 ? 4 : 3), path); // "key": and a comma
        children.push({ value: child, path, depth: depth + 1, into: copy, at: key });
      }
      for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
    }
  } catch (err) {
    if (err instanceof ValidationError) throw err;
    // A getter, a Proxy trap or an `in` check on the caller's object threw.
    throw notSerializable(path, 'unreadable property');
  }

  // The exact size, on the snapshot that will be stored (escapes included).
  const snapshot = out[0];
  if (JSON.stringify(snapshot).length > maxBytes) throw invalid(root, `larger than ${maxBytes} bytes`);
  return snapshot;
}
