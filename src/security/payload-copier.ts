import { ValidationError } from '../errors/sync-error';

/** Keys refused anywhere in a payload: they pollute prototypes on merge. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

// Word-like keys (letters, `_`, `$`, `-`, a short numeric suffix): schema
// field names. Anything else (an e-mail, an id, a token used as a key) could
// itself be user data or a secret.
const SAFE_KEY = /^[A-Za-z_$][A-Za-z_$-]{0,31}[0-9]{0,3}$/;

// A path names where the problem is, never a value.
const segment = (key: string): string => (SAFE_KEY.test(key) ? `.${key}` : '.<key>');

export const invalid = (path: string, what: string): ValidationError => new ValidationError('invalidPayload', `${path}: ${what}`);
const notSerializable = (path: string, what: string): ValidationError => new ValidationError('notSerializable', `${path}: ${what}`);

type Holder = Record<string | number, unknown>;
type Frame = { value: unknown; path: string; depth: number; into: Holder; at: string | number } | { exit: object };
type ValueFrame = Exclude<Frame, { exit: object }>;

/**
 * One run of `safePayloadCopy`'s checks (a new copier per payload): walks
 * `payload` iteratively with an explicit stack, reading every property
 * once, and builds the copy from fresh plain objects, arrays and
 * primitives while it checks. Throws the first `ValidationError`; the
 * exact size check on the finished copy is the caller's.
 *
 * @example
 * const copy = new PayloadCopier(32, 1_000_000, 262_144).copy(input, 'payload');
 */
export class PayloadCopier {
  // TypeScript `private`, not `#private`: this runs per node of every
  // enqueued payload, and plain fields are the cheaper access
  // (docs/performance.md, "Why the hot path looks like this").
  // JSON length of what was copied so far, except escapes (a lower bound).
  private bytes = 0;
  // Objects on the current path, for cycle detection (a DAG is fine).
  private readonly ancestors = new Set<object>();
  private readonly stack: Frame[] = [];
  // Where the walk is: named in the error if a read throws.
  private path = '';

  constructor(
    private readonly maxDepth: number,
    private readonly maxBytes: number,
    private readonly maxString: number,
  ) {}

  /** The checked copy of `payload`; throws `ValidationError` (path `root…`). */
  copy(payload: unknown, root: string): unknown {
    const out: Holder = {};
    this.stack.push({ value: payload, path: root, depth: 1, into: out, at: 0 });
    this.path = root;
    try {
      while (this.stack.length > 0) {
        const frame = this.stack.pop()!;
        if ('exit' in frame) this.ancestors.delete(frame.exit);
        else this.visit(frame);
      }
    } catch (err) {
      if (err instanceof ValidationError) throw err;
      // A getter, a Proxy trap or an `in` check on the caller's object threw.
      throw notSerializable(this.path, 'unreadable property');
    }
    return out[0];
  }

  private add(n: number, path: string): void {
    this.bytes += n;
    if (this.bytes > this.maxBytes) throw invalid(path, `larger than ${this.maxBytes} bytes`);
  }

  private checkString(s: string, path: string): void {
    if (s.length > this.maxString) throw invalid(path, `string longer than ${this.maxString}`);
  }

  private visit(frame: ValueFrame): void {
    const { value, into, at } = frame;
    const path = (this.path = frame.path);
    switch (typeof value) {
      case 'string':
        this.checkString(value, path);
        this.add(value.length + 2, path);
        into[at] = value;
        return;
      case 'boolean':
        this.add(value ? 4 : 5, path);
        into[at] = value;
        return;
      case 'number':
        if (!Number.isFinite(value)) throw notSerializable(path, 'NaN or Infinity');
        this.add(String(value).length, path);
        into[at] = value;
        return;
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
      this.add(4, path);
      into[at] = null;
      return;
    }
    const obj = value as object;
    if (this.ancestors.has(obj)) throw notSerializable(path, 'cycle');
    if (frame.depth > this.maxDepth) throw invalid(path, `nested deeper than ${this.maxDepth}`);
    if (obj instanceof Date) throw notSerializable(path, 'Date (send an ISO string)');
    if (Array.isArray(obj)) this.array(obj, frame);
    else this.object(obj, frame);
  }

  private enter(obj: object, frame: ValueFrame, copy: Holder): void {
    this.add(2, frame.path);
    frame.into[frame.at] = copy;
    this.ancestors.add(obj);
    this.stack.push({ exit: obj });
  }

  private array(obj: unknown[], frame: ValueFrame): void {
    // Read once: a Proxy could answer differently each time.
    const length = obj.length;
    const copy: unknown[] = [];
    this.enter(obj, frame, copy as unknown as Holder);
    // Pushed in reverse so items are checked in order; a sparse array with
    // a huge length fails on its first hole, before any real work.
    const items: Frame[] = [];
    for (let i = 0; i < length; i++) {
      const path = (this.path = `${frame.path}[${i}]`);
      if (!(i in obj)) throw notSerializable(path, 'array hole');
      const item = obj[i];
      if (item === undefined) throw notSerializable(path, 'undefined in array');
      if (i > 0) this.add(1, path);
      items.push({ value: item, path, depth: frame.depth + 1, into: copy as unknown as Holder, at: i });
    }
    for (let i = items.length - 1; i >= 0; i--) this.stack.push(items[i]!);
  }

  private object(obj: object, frame: ValueFrame): void {
    const proto = Object.getPrototypeOf(obj) as unknown;
    if (proto !== Object.prototype && proto !== null) throw notSerializable(frame.path, 'not a plain object');
    if (typeof (obj as { toJSON?: unknown }).toJSON === 'function') throw notSerializable(frame.path, 'object with toJSON');
    const copy: Record<string, unknown> = {};
    this.enter(obj, frame, copy);
    const children: Frame[] = [];
    for (const key of Object.keys(obj)) {
      const path = (this.path = `${frame.path}${segment(key)}`);
      if (FORBIDDEN_KEYS.has(key)) throw invalid(path, 'forbidden key');
      this.checkString(key, path);
      const child = (obj as Record<string, unknown>)[key];
      if (child === undefined) continue; // omitted by JSON, like an absent optional field
      this.add(key.length + (children.length > 0 ? 4 : 3), path); // "key": and a comma
      children.push({ value: child, path, depth: frame.depth + 1, into: copy, at: key });
    }
    for (let i = children.length - 1; i >= 0; i--) this.stack.push(children[i]!);
  }
}
