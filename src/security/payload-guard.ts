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
 * the path (`payload.items[3].title`), never the value.
 *
 * `invalidPayload`: nesting deeper than `maxDepth`, more than `maxBytes` in
 * total, a string longer than `maxStringLength`, a `__proto__`, `constructor`
 * or `prototype` key.
 *
 * `notSerializable` (JSON would drop, alter or refuse it): BigInt, functions,
 * symbols, `undefined` at the root or in an array (and array holes), NaN and
 * ±Infinity, cycles, `Date` (send an ISO string: JSON turns a Date into a
 * string, so it would come back from the queue as a different type), and any
 * other non-plain object (Map, Set, class instances, typed arrays, objects
 * with `toJSON`). An `undefined` object property is allowed: JSON omits it,
 * which is what an optional field means.
 *
 * Iterative with an explicit stack: a hostile depth cannot overflow the call
 * stack, and it stops at the first problem.
 *
 * @example
 * assertSafePayload({ title: 'Buy milk' });       // ok
 * assertSafePayload(JSON.parse('{"__proto__":{}}')); // throws invalidPayload "payload.__proto__: forbidden key"
 */
export function assertSafePayload(payload: unknown, limits: PayloadLimits = {}, root = 'payload'): void {
  const maxDepth = limits.maxDepth ?? PAYLOAD_LIMITS.maxDepth;
  const maxBytes = limits.maxBytes ?? PAYLOAD_LIMITS.maxBytes;
  const maxString = limits.maxStringLength ?? PAYLOAD_LIMITS.maxStringLength;

  let bytes = 0;
  const add = (n: number, path: string): void => {
    bytes += n;
    if (bytes > maxBytes) throw invalid(path, `larger than ${maxBytes} bytes`);
  };
  const checkString = (s: string, path: string): void => {
    if (s.length > maxString) throw invalid(path, `string longer than ${maxString}`);
    add(s.length + 2, path);
  };

  // Objects on the current path, for cycle detection (a DAG is fine).
  const ancestors = new Set<object>();
  type Frame = { value: unknown; path: string; depth: number } | { exit: object };
  const stack: Frame[] = [{ value: payload, path: root, depth: 1 }];

  while (stack.length > 0) {
    const frame = stack.pop()!;
    if ('exit' in frame) {
      ancestors.delete(frame.exit);
      continue;
    }
    const { value, path, depth } = frame;
    switch (typeof value) {
      case 'string':
        checkString(value, path);
        continue;
      case 'boolean':
        add(5, path);
        continue;
      case 'number':
        if (!Number.isFinite(value)) throw notSerializable(path, 'NaN or Infinity');
        add(24, path);
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
      continue;
    }
    const obj = value as object;
    if (ancestors.has(obj)) throw notSerializable(path, 'cycle');
    if (depth > maxDepth) throw invalid(path, `nested deeper than ${maxDepth}`);
    if (obj instanceof Date) throw notSerializable(path, 'Date (send an ISO string)');

    if (Array.isArray(obj)) {
      add(2, path);
      ancestors.add(obj);
      stack.push({ exit: obj });
      // Pushed in reverse so items are checked in order; a sparse array with
      // a huge length fails on its first hole, before any real work.
      const items: Frame[] = [];
      for (let i = 0; i < obj.length; i++) {
        if (!(i in obj)) throw notSerializable(`${path}[${i}]`, 'array hole');
        const item = (obj as unknown[])[i];
        if (item === undefined) throw notSerializable(`${path}[${i}]`, 'undefined in array');
        add(1, path);
        items.push({ value: item, path: `${path}[${i}]`, depth: depth + 1 });
      }
      for (let i = items.length - 1; i >= 0; i--) stack.push(items[i]!);
      continue;
    }

    const proto = Object.getPrototypeOf(obj) as unknown;
    if (proto !== Object.prototype && proto !== null) throw notSerializable(path, 'not a plain object');
    if (typeof (obj as { toJSON?: unknown }).toJSON === 'function') throw notSerializable(path, 'object with toJSON');

    add(2, path);
    ancestors.add(obj);
    stack.push({ exit: obj });
    const children: Frame[] = [];
    for (const key of Object.keys(obj)) {
      const childPath = `${path}${segment(key)}`;
      if (FORBIDDEN_KEYS.has(key)) throw invalid(childPath, 'forbidden key');
      checkString(key, childPath);
      let child: unknown;
      try {
        child = (obj as Record<string, unknown>)[key];
      } catch {
        throw notSerializable(childPath, 'unreadable property');
      }
      if (child === undefined) continue; // omitted by JSON, like an absent optional field
      add(1, childPath);
      children.push({ value: child, path: childPath, depth: depth + 1 });
    }
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
  }
}
