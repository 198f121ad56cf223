import { MalformedResponseError, ValidationError } from '../errors/sync-error';

/**
 * HTTP methods an operation may use (operations change state; no GET).
 *
 * @example
 * const method: RouteMethod = 'PATCH';
 */
export type RouteMethod = 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * One decoding failure, as io-ts reports it (`t.ValidationError`): the
 * value and the path of codecs that led to it.
 */
export interface CodecError {
  readonly value: unknown;
  readonly context: ReadonlyArray<{ readonly key: string; readonly type: { readonly name: string } }>;
}

/** A decode result, as io-ts returns it (fp-ts `Either`). */
export type CodecResult<A> = { readonly _tag: 'Left'; readonly left: ReadonlyArray<CodecError> } | { readonly _tag: 'Right'; readonly right: A };

/**
 * What the router needs of a codec: a `name` and a `decode`. Described by
 * shape, not by io-ts's `Type` class, so a codec from any copy of io-ts
 * fits — the app's own io-ts need not be the very module sync-engine
 * loads (another version, a nested install, a bundler's second copy).
 *
 * @example
 * const Contact: RouteCodec<{ id: string; name: string }> = t.type({ id: t.string, name: t.string });
 */
export interface RouteCodec<A> {
  readonly name: string;
  decode(input: unknown): CodecResult<A>;
}

/**
 * How one operation type travels (`docs/op_router.md`).
 *
 * @typeParam P the app payload, as passed to `enqueue` and stored
 * @typeParam W the wire body sent to the server
 * @typeParam R the decoded `data` of a successful response
 * @example
 * const rename: RouteDef<{ id: string; name: string }, { name: string }, Contact> = {
 *   method: 'PATCH', path: '/contacts/:id', payload: ContactRename, response: ContactCodec,
 *   toWire: ({ name }) => ({ name }),
 * };
 */
export interface RouteDef<P, W, R> {
  readonly method: RouteMethod;
  /**
   * Path template below the base URL, e.g. `/contacts/:id`. `:name`
   * segments are filled from the payload's field `name` (the wire body's
   * field when the payload has none) and URL-encoded.
   */
  readonly path: string;
  /** io-ts codec (from any io-ts copy) validating the app payload at enqueue (and again at send). */
  readonly payload: RouteCodec<P>;
  /** Local → wire transform. Default: the payload as is. `undefined` = no body. */
  readonly toWire?: (p: P) => W;
  /** io-ts codec (from any io-ts copy) of the response envelope's `data`. */
  readonly response: RouteCodec<R>;
  /**
   * The op's ordering key (e.g. the entity id), from its payload. With the
   * engine option `concurrency` above 1 (or `batch`), ops of one key are
   * sent strictly in enqueue order and never overlap; ops of different keys
   * may be in flight together. Default: none — every op of such a route
   * shares one global key (strict FIFO among them). Must be pure and
   * total: a throw or a non-string puts the op in the global key.
   */
  readonly orderKey?: (p: P) => string;
}

/**
 * The request the API client sends for one op.
 *
 * @example
 * const { method, path, body } = router.toRequest(op); // { 'PATCH', '/contacts/c1', { name: 'Ada' } }
 */
export interface RoutedRequest {
  readonly method: RouteMethod;
  /** Path with parameters URL-encoded, e.g. `/contacts/a%2Fb`. */
  readonly path: string;
  /** Wire body; `undefined` for no body. */
  readonly body: unknown;
}

/**
 * Resolves operation types to requests and decodes their responses.
 *
 * @example
 * const router: OpRouter = defineRoutes({ ... });
 * router.validate(input.type, input.payload); // before persisting
 * const req = router.toRequest(op);            // when sending
 * const data = router.decodeResponse(op.type, envelope.data);
 */
export interface OpRouter<Routes extends Record<string, RouteDef<any, any, any>> = Record<string, RouteDef<any, any, any>>> {
  /** The route table, as defined. */
  readonly routes: Readonly<Routes>;
  /**
   * Check an op before it is persisted: the type is known, the payload
   * passes the route's codec, `toWire` accepts it, its result is
   * JSON-serialisable and every path parameter resolves. Throws
   * `ValidationError('unknownType' | 'invalidPayload' | 'notSerializable')`
   * whose detail names field paths, never values.
   */
  validate(type: string, payload: unknown): void;
  /**
   * `{ method, path (params URL-encoded), body }` for a stored op. Throws
   * `ValidationError` on an unknown type or a payload that no longer passes
   * the codec (a record from an older app version).
   */
  toRequest(op: { readonly type: string; readonly payload: unknown }): RoutedRequest;
  /**
   * Decode the envelope's `data` with the route's response codec. Throws
   * `MalformedResponseError` (code `responseSchema`; no data in the message)
   * or `ValidationError('unknownType')`.
   */
  decodeResponse(type: string, data: unknown): unknown;
  /** Whether `type` has a route. */
  has(type: string): boolean;
  /**
   * The op's ordering key: the route's `orderKey(payload)` (routes giving
   * the same key — create and update of one entity — share it), or
   * {@link GLOBAL_ORDER_KEY} for a route without one (or whose `orderKey`
   * throws or returns a non-string, or an unknown type).
   */
  orderKey(op: { readonly type: string; readonly payload: unknown }): string;
}

/**
 * The ordering key of every op whose route has no `orderKey`: they are
 * sent in strict FIFO order among themselves.
 *
 * @example
 * router.orderKey({ type: 'log.append', payload }) === GLOBAL_ORDER_KEY; // a route without orderKey
 */
export const GLOBAL_ORDER_KEY = '';

const METHODS: readonly RouteMethod[] = ['POST', 'PUT', 'PATCH', 'DELETE'];
const PARAM = /^:([A-Za-z_$][A-Za-z0-9_$]*)$/;
// A plain path segment: RFC 3986 pchar without '%' escapes; ':' only after
// the first character (a leading ':' marks a param; `items:batch` is literal).
const LITERAL_SEGMENT = /^[A-Za-z0-9\-._~!$&'()*+,;=@][A-Za-z0-9\-._~!$&'()*+,;=@:]*$/;
const SAFE_TYPE = /^[A-Za-z0-9_.:/-]{1,64}$/;

type Segment = { readonly literal: string } | { readonly param: string };

interface CompiledRoute {
  readonly def: RouteDef<unknown, unknown, unknown>;
  readonly segments: readonly Segment[];
}

const typeLabel = (type: string): string => (SAFE_TYPE.test(type) ? `"${type}"` : '(unprintable type)');

function compilePath(type: string, path: unknown): readonly Segment[] {
  const bad = (what: string): never => {
    throw new ValidationError('invalidOptions', `routes[${typeLabel(type)}].path: ${what}`);
  };
  if (typeof path !== 'string' || !path.startsWith('/')) bad('expected a template starting with "/"');
  const p = path as string;
  // Only paths below the base URL: no scheme, host, query or fragment, so a
  // route can never send the bearer token somewhere else.
  if (p.startsWith('//') || /[?#\\\s]/.test(p)) bad('expected a path without host, query or fragment');
  if (p === '/') return [];
  const parts = p.slice(1).split('/');
  return parts.map((part) => {
    const m = PARAM.exec(part);
    if (m) return { param: m[1] };
    if (part === '' || part === '.' || part === '..' || !LITERAL_SEGMENT.test(part)) {
      return bad('expected "/"-separated literal or ":param" segments');
    }
    return { literal: part };
  });
}

function compile(routes: Record<string, RouteDef<any, any, any>>): ReadonlyMap<string, CompiledRoute> {
  const table = new Map<string, CompiledRoute>();
  for (const type of Object.keys(routes)) {
    const def = routes[type] as RouteDef<unknown, unknown, unknown> | undefined;
    const bad = (what: string): never => {
      throw new ValidationError('invalidOptions', `routes[${typeLabel(type)}].${what}`);
    };
    if (typeof def !== 'object' || def === null) bad('(route): expected a route definition');
    const d = def as RouteDef<unknown, unknown, unknown>;
    if (!METHODS.includes(d.method)) bad(`method: expected one of ${METHODS.join(', ')}`);
    // By shape, not `instanceof t.Type`: the app's io-ts may be another copy.
    if (!isCodec(d.payload)) bad('payload: expected an io-ts codec');
    if (!isCodec(d.response)) bad('response: expected an io-ts codec');
    if (d.toWire !== undefined && typeof d.toWire !== 'function') bad('toWire: expected a function');
    if (d.orderKey !== undefined && typeof d.orderKey !== 'function') bad('orderKey: expected a function');
    table.set(type, { def: d, segments: compilePath(type, d.path) });
  }
  return table;
}

const isCodec = (u: unknown): u is RouteCodec<unknown> =>
  typeof u === 'object' && u !== null && typeof (u as RouteCodec<unknown>).decode === 'function' && typeof (u as RouteCodec<unknown>).name === 'string';

const own = (u: unknown, key: string): unknown =>
  typeof u === 'object' && u !== null && Object.prototype.hasOwnProperty.call(u, key)
    ? (u as Record<string, unknown>)[key]
    : undefined;

function buildPath(segments: readonly Segment[], payload: unknown, wire: unknown): string {
  if (segments.length === 0) return '/';
  return segments
    .map((s) => {
      if ('literal' in s) return `/${s.literal}`;
      const fromPayload = own(payload, s.param);
      const v = fromPayload !== undefined ? fromPayload : own(wire, s.param);
      const text = typeof v === 'string' ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : undefined;
      if (text === undefined || text.length === 0) {
        throw new ValidationError('invalidPayload', `payload.${s.param}: path parameter must be a non-empty string or finite number`);
      }
      let encoded: string;
      try {
        encoded = encodeURIComponent(text);
      } catch {
        // A lone UTF-16 surrogate cannot be percent-encoded (URIError).
        throw new ValidationError('invalidPayload', `payload.${s.param}: path parameter is not well-formed Unicode`);
      }
      // "." and ".." survive encoding and would be resolved as dot segments,
      // sending the request to a different resource.
      if (encoded === '.' || encoded === '..') {
        throw new ValidationError('invalidPayload', `payload.${s.param}: path parameter must not be a dot segment`);
      }
      return `/${encoded}`;
    })
    .join('');
}

const SAFE_KEY = /^[A-Za-z0-9_$-]{1,40}$/;
const MAX_REPORTED = 5;

const shape = (u: unknown): string => (u === null ? 'null' : Array.isArray(u) ? 'array' : typeof u);

/**
 * `payload.title: expected string, got number` — the path (keys that do not
 * look like identifiers, e.g. an e-mail used as a key, become `<key>`), the
 * codec's type name and the JS type of the value, never the value itself.
 *
 * @example
 * const r = Codec.decode(payload);
 * if (isLeft(r)) throw new ValidationError('invalidPayload', formatPayloadErrors(r.left));
 * // "payload.tags[1]: expected string, got number"
 */
export function formatPayloadErrors(errors: ReadonlyArray<CodecError>): string {
  const lines = errors.map((e) => {
    const path = e.context
      .map((c, i) => {
        // Union and intersection members are keyed by member index, which
        // is not a position in the value.
        const parent = i > 0 ? (e.context[i - 1].type as { readonly _tag?: string })._tag : undefined;
        if (c.key === '' || parent === 'UnionType' || parent === 'IntersectionType') return '';
        if (parent === 'ArrayType' || parent === 'ReadonlyArrayType' || parent === 'TupleType') return `[${c.key}]`;
        return SAFE_KEY.test(c.key) ? `.${c.key}` : '.<key>';
      })
      .join('');
    // A failed union reports once, as the union ("number | null"), not per member.
    let at = e.context.length - 1;
    while (at > 0 && (e.context[at - 1].type as { readonly _tag?: string })._tag === 'UnionType') at -= 1;
    const expected = e.context[at]?.type.name ?? 'value';
    return `payload${path}: expected ${expected}, got ${shape(e.value)}`;
  });
  const unique = [...new Set(lines)];
  const shown = unique.slice(0, MAX_REPORTED);
  return unique.length > shown.length ? `${shown.join('; ')}; …and ${unique.length - shown.length} more` : shown.join('; ');
}

/**
 * Build the operation router from a table of routes. The table is checked
 * at once (methods, codecs, path templates without host/query);
 * a bad table throws `ValidationError('invalidOptions')`.
 *
 * @example
 * const Contact = t.type({ id: t.string, name: t.string });
 * const router = defineRoutes({
 *   'contact.create': { method: 'POST', path: '/contacts', payload: Contact, response: Contact },
 *   'contact.rename': {
 *     method: 'PATCH', path: '/contacts/:id', payload: Contact, response: Contact,
 *     toWire: ({ name }) => ({ name }),
 *   },
 * });
 * router.validate('contact.rename', { id: 'c/1', name: 'Ada' });
 * router.toRequest({ type: 'contact.rename', payload: { id: 'c/1', name: 'Ada' } });
 * // { method: 'PATCH', path: '/contacts/c%2F1', body: { name: 'Ada' } }
 */
export function defineRoutes<Routes extends Record<string, RouteDef<any, any, any>>>(routes: Routes): OpRouter<Routes> {
  const table = compile(routes);

  const route = (type: string): CompiledRoute => {
    const r = typeof type === 'string' ? table.get(type) : undefined;
    if (!r) throw new ValidationError('unknownType', `type ${typeLabel(String(type))} has no route`);
    return r;
  };

  const resolve = (type: string, payload: unknown): RoutedRequest => {
    const { def, segments } = route(type);
    const decoded = def.payload.decode(payload);
    if (decoded._tag === 'Left') throw new ValidationError('invalidPayload', formatPayloadErrors(decoded.left));
    let wire: unknown;
    try {
      wire = def.toWire ? def.toWire(decoded.right) : decoded.right;
    } catch {
      // The app's transform threw; its message may quote the payload.
      throw new ValidationError('invalidPayload', 'toWire: the route transform threw');
    }
    return { method: def.method, path: buildPath(segments, decoded.right, wire), body: wire };
  };

  return {
    routes,
    validate: (type, payload) => {
      const { body } = resolve(type, payload);
      // Caught here, at enqueue, rather than as a throw deep in the send path
      // (BigInt, cycles, a toJSON that throws).
      try {
        JSON.stringify(body);
      } catch {
        throw new ValidationError('notSerializable', 'toWire: the wire body is not JSON-serialisable');
      }
    },
    toRequest: (op) => resolve(op.type, op.payload),
    decodeResponse: (type, data) => {
      const decoded = route(type).def.response.decode(data);
      if (decoded._tag === 'Left') throw new MalformedResponseError({ code: 'responseSchema' });
      return decoded.right;
    },
    has: (type) => typeof type === 'string' && table.has(type),
    orderKey: (op) => {
      const orderKey = typeof op.type === 'string' ? table.get(op.type)?.def.orderKey : undefined;
      if (orderKey === undefined) return GLOBAL_ORDER_KEY;
      let key: unknown;
      try {
        key = orderKey(op.payload);
      } catch {
        return GLOBAL_ORDER_KEY;
      }
      // Prefixed: no app key equals the global one. Routes returning the
      // same key (create and update of one entity) share it, on purpose.
      return typeof key === 'string' ? `=${key}` : GLOBAL_ORDER_KEY;
    },
  };
}
