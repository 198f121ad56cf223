import fc from 'fast-check';
import * as t from 'io-ts';
import { MalformedResponseError, ValidationError } from '../../src/errors/sync-error';
import { defineRoutes, type RouteDef } from '../../src/router/op-router';

const Contact = t.type({ id: t.string, name: t.string, email: t.union([t.string, t.null]) });
const ContactCreate = t.intersection([t.type({ id: t.string, name: t.string }), t.partial({ email: t.string })]);
const ContactRename = t.type({ id: t.string, name: t.string });
const ById = t.type({ id: t.union([t.string, t.number]) });
const Deleted = t.type({ id: t.string, deleted: t.literal(true) });
const Tagged = t.type({ id: t.string, tags: t.array(t.string) });

const router = defineRoutes({
  'contact.create': { method: 'POST', path: '/contacts', payload: ContactCreate, response: Contact },
  'contact.rename': {
    method: 'PATCH',
    path: '/contacts/:id',
    payload: ContactRename,
    response: Contact,
    toWire: ({ name }: t.TypeOf<typeof ContactRename>) => ({ name }),
  },
  'contact.delete': { method: 'DELETE', path: '/contacts/:id', payload: ById, response: Deleted, toWire: () => undefined },
  'contact.tag': { method: 'PUT', path: '/contacts/:id/tags', payload: Tagged, response: t.unknown },
  'org.member.add': {
    method: 'POST',
    path: '/orgs/:orgId/members/:userId',
    payload: t.type({ org: t.string, user: t.string }),
    response: t.unknown,
    toWire: (p: { org: string; user: string }) => ({ orgId: p.org, userId: p.user, role: 'member' }),
  },
});

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

describe('OpRouter.toRequest', () => {
  it('sends the payload as the body when there is no toWire', () => {
    expect(router.toRequest({ type: 'contact.create', payload: { id: 'c1', name: 'Ada' } })).toEqual({
      method: 'POST',
      path: '/contacts',
      body: { id: 'c1', name: 'Ada' },
    });
  });

  it('fills path params from the payload and sends the toWire body', () => {
    expect(router.toRequest({ type: 'contact.rename', payload: { id: 'c1', name: 'Ada' } })).toEqual({
      method: 'PATCH',
      path: '/contacts/c1',
      body: { name: 'Ada' },
    });
  });

  it('sends no body when toWire returns undefined', () => {
    expect(router.toRequest({ type: 'contact.delete', payload: { id: 'c1' } })).toEqual({
      method: 'DELETE',
      path: '/contacts/c1',
      body: undefined,
    });
  });

  it('fills params the payload lacks from the wire body, several per path', () => {
    expect(router.toRequest({ type: 'org.member.add', payload: { org: 'o 1', user: 'u/2' } }).path).toBe(
      '/orgs/o%201/members/u%2F2',
    );
  });

  it.each([
    ['a slash', 'a/b', '/contacts/a%2Fb'],
    ['a query', 'x?admin=1', '/contacts/x%3Fadmin%3D1'],
    ['a fragment', 'x#y', '/contacts/x%23y'],
    ['percent', '100%', '/contacts/100%25'],
    ['unicode', 'café', '/contacts/caf%C3%A9'],
    ['a number', 42, '/contacts/42'],
  ])('URL-encodes a param with %s', (_name, id, path) => {
    expect(router.toRequest({ type: 'contact.delete', payload: { id } }).path).toBe(path);
  });

  it.each([['.'], ['..'], ['']])('refuses the param %j, which would address another resource', (id) => {
    const err = thrown(() => router.toRequest({ type: 'contact.delete', payload: { id } }));
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).reason).toBe('invalidPayload');
    expect((err as ValidationError).detail).toMatch(/^payload\.id:/);
  });

  it('re-validates a stored payload (a record from an older app version)', () => {
    const err = thrown(() => router.toRequest({ type: 'contact.rename', payload: { id: 'c1' } }));
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).detail).toBe('payload.name: expected string, got undefined');
  });

  it('refuses an unknown type', () => {
    const err = thrown(() => router.toRequest({ type: 'contact.merge', payload: {} }));
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).reason).toBe('unknownType');
  });
});

describe('OpRouter.validate', () => {
  it('accepts a valid op', () => {
    expect(() => router.validate('contact.create', { id: 'c1', name: 'Ada', email: 'a@b.c' })).not.toThrow();
  });

  it('names every bad field path with its expected type, never the value', () => {
    const err = thrown(() => router.validate('contact.create', { id: 7, name: 'eve@example.org', email: 99 })) as ValidationError;
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.reason).toBe('invalidPayload');
    expect(err.detail).toBe('payload.id: expected string, got number; payload.email: expected string, got number');
    expect(err.message).not.toMatch(/eve@|\b7\b|99/);
  });

  it('names array positions and hides keys that look like data', () => {
    const err = thrown(() => router.validate('contact.tag', { id: 'c1', tags: ['ok', 5] })) as ValidationError;
    expect(err.detail).toBe('payload.tags[1]: expected string, got number');
    const Dict = defineRoutes({ x: { method: 'POST', path: '/x', payload: t.record(t.string, t.number), response: t.unknown } });
    const e2 = thrown(() => Dict.validate('x', { 'eve@example.org': 'secret' })) as ValidationError;
    expect(e2.detail).toBe('payload.<key>: expected number, got string');
  });

  it('reports a failed union once, as the union', () => {
    const err = thrown(() => router.validate('contact.delete', { id: true })) as ValidationError;
    expect(err.detail).toBe('payload.id: expected (string | number), got boolean');
  });

  it('reports a payload that is not an object at the root', () => {
    const err = thrown(() => router.validate('contact.create', 'hello')) as ValidationError;
    expect(err.detail).toMatch(/^payload: expected .*, got string$/);
  });

  it('checks path params at enqueue, not only at send', () => {
    const err = thrown(() => router.validate('contact.delete', { id: '..' })) as ValidationError;
    expect(err.reason).toBe('invalidPayload');
  });

  it('turns a throwing toWire into a ValidationError without its message', () => {
    const r = defineRoutes({
      boom: {
        method: 'POST',
        path: '/boom',
        payload: t.type({ secret: t.string }),
        response: t.unknown,
        toWire: (p: { secret: string }) => {
          throw new Error(`cannot send ${p.secret}`);
        },
      },
    });
    const err = thrown(() => r.validate('boom', { secret: 'hunter2' })) as ValidationError;
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.message).not.toMatch(/hunter2/);
    expect(err.detail).toBe('toWire: the route transform threw');
  });

  it('refuses a wire body that JSON cannot carry, at enqueue', () => {
    const r = defineRoutes({
      big: {
        method: 'POST',
        path: '/big',
        payload: t.type({ n: t.number }),
        response: t.unknown,
        toWire: (p: { n: number }) => ({ n: BigInt(p.n) }),
      },
    });
    const err = thrown(() => r.validate('big', { n: 1 })) as ValidationError;
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.reason).toBe('notSerializable');
  });

  it('names an unknown type but not an unprintable one', () => {
    const e1 = thrown(() => router.validate('contact.merge', {})) as ValidationError;
    expect(e1.reason).toBe('unknownType');
    expect(e1.detail).toBe('type "contact.merge" has no route');
    const e2 = thrown(() => router.validate('drop table; <script>', {})) as ValidationError;
    expect(e2.detail).toBe('type (unprintable type) has no route');
  });

  it('does not resolve inherited keys as types', () => {
    expect(router.has('toString')).toBe(false);
    expect(thrown(() => router.validate('__proto__', {}))).toBeInstanceOf(ValidationError);
  });
});

describe('OpRouter.decodeResponse', () => {
  it('decodes data with the route codec', () => {
    const data = { id: 'c1', name: 'Ada', email: null };
    expect(router.decodeResponse('contact.rename', data)).toEqual(data);
  });

  it('throws MalformedResponseError without the data in it', () => {
    const err = thrown(() => router.decodeResponse('contact.rename', { id: 'c1', name: 'eve@example.org' }));
    expect(err).toBeInstanceOf(MalformedResponseError);
    expect((err as MalformedResponseError).code).toBe('responseSchema');
    expect((err as Error).message).not.toMatch(/eve@/);
  });

  it('refuses an unknown type', () => {
    expect(thrown(() => router.decodeResponse('nope', {}))).toBeInstanceOf(ValidationError);
  });
});

describe('defineRoutes', () => {
  it('knows its types', () => {
    expect(router.has('contact.create')).toBe(true);
    expect(router.has('contact.merge')).toBe(false);
    expect(Object.keys(router.routes)).toContain('contact.tag');
  });

  const bad = (def: Partial<RouteDef<unknown, unknown, unknown>>) => () =>
    defineRoutes({ x: { method: 'POST', path: '/x', payload: t.unknown, response: t.unknown, ...def } as RouteDef<unknown, unknown, unknown> });

  it.each<[string, Partial<RouteDef<unknown, unknown, unknown>>, RegExp]>([
    ['a GET method', { method: 'GET' as 'POST' }, /\.method:/],
    ['an absolute URL', { path: 'https://evil.example/x' }, /\.path:/],
    ['a protocol-relative URL', { path: '//evil.example/x' }, /\.path:/],
    ['a query string', { path: '/x?debug=1' }, /\.path:/],
    ['a fragment', { path: '/x#y' }, /\.path:/],
    ['a dot segment', { path: '/x/../admin' }, /\.path:/],
    ['an empty segment', { path: '/x//y' }, /\.path:/],
    ['a bad param name', { path: '/x/:1id' }, /\.path:/],
    ['a payload that is not a codec', { payload: {} as t.Type<unknown> }, /\.payload:/],
    ['a response that is not a codec', { response: undefined as unknown as t.Type<unknown> }, /\.response:/],
    ['a toWire that is not a function', { toWire: 'x' as unknown as (p: unknown) => unknown }, /\.toWire:/],
  ])('refuses %s', (_name, def, detail) => {
    const err = thrown(bad(def)) as ValidationError;
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.reason).toBe('invalidOptions');
    expect(err.detail).toMatch(detail);
  });

  it('takes codecs from another copy of io-ts (not the module sync-engine loads)', () => {
    let other!: typeof t;
    jest.isolateModules(() => {
      other = require('io-ts') as typeof t;
    });
    const Item = other.type({ id: other.string, title: other.string });
    expect(Item).not.toBeInstanceOf(t.Type);
    const r = defineRoutes({ 'item.create': { method: 'POST', path: '/items/:id', payload: Item, response: Item } });
    expect(r.toRequest({ type: 'item.create', payload: { id: 'a', title: 'x' } })).toEqual({ method: 'POST', path: '/items/a', body: { id: 'a', title: 'x' } });
    expect(() => r.validate('item.create', { id: 'a', title: 1 })).toThrow('payload.title: expected string, got number');
    expect(r.decodeResponse('item.create', { id: 'a', title: 'x' })).toEqual({ id: 'a', title: 'x' });
    expect(() => r.decodeResponse('item.create', { id: 'a' })).toThrow(MalformedResponseError);
  });

  it('accepts the root path and literal segments with sub-delims', () => {
    const r = defineRoutes({
      a: { method: 'POST', path: '/', payload: t.unknown, response: t.unknown },
      b: { method: 'POST', path: '/v1/items:batch', payload: t.unknown, response: t.unknown },
    });
    expect(r.toRequest({ type: 'a', payload: 1 }).path).toBe('/');
    expect(r.toRequest({ type: 'b', payload: 1 }).path).toBe('/v1/items:batch');
  });
});

describe('path params (property)', () => {
  const r = defineRoutes({ del: { method: 'DELETE', path: '/contacts/:id', payload: ById, response: t.unknown } });

  it('any string id becomes exactly one segment that decodes back to it, or a ValidationError', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (id) => {
        let path: string;
        try {
          path = r.toRequest({ type: 'del', payload: { id } }).path;
        } catch (e) {
          expect(e).toBeInstanceOf(ValidationError);
          expect((e as ValidationError).message).not.toContain(id.length > 2 ? id : '\u0000never');
          return;
        }
        expect(path.startsWith('/contacts/')).toBe(true);
        const segment = path.slice('/contacts/'.length);
        expect(segment).not.toMatch(/[/?#\\]/);
        expect(segment).not.toMatch(/^\.{1,2}$/);
        expect(decodeURIComponent(segment)).toBe(id);
      }),
      { numRuns: 500 },
    );
  });

  it('refuses a lone surrogate as a ValidationError, not a URIError', () => {
    const err = thrown(() => r.toRequest({ type: 'del', payload: { id: 'a\uD800' } })) as ValidationError;
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.detail).toBe('payload.id: path parameter is not well-formed Unicode');
  });
});
