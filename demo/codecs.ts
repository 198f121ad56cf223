import * as t from 'io-ts';

/**
 * The demo app's payload and response codecs. The client checks shapes
 * only; the server adds rules the client does not know (title ≤ 200 chars,
 * email format), which is how some demo ops end as 400s.
 */
export const TodoCreate = t.intersection([t.type({ id: t.string, title: t.string }), t.partial({ done: t.boolean })]);
export const TodoUpdate = t.intersection([
  t.type({ id: t.string }),
  t.partial({ title: t.string, done: t.boolean, ifVersion: t.number }),
]);
export const ContactCreate = t.intersection([
  t.type({ id: t.string, name: t.string }),
  t.partial({ email: t.union([t.string, t.null]) }),
]);
export const ContactUpdate = t.intersection([
  t.type({ id: t.string }),
  t.partial({ name: t.string, email: t.union([t.string, t.null]), ifVersion: t.number }),
]);
export const ById = t.type({ id: t.string });

export const Todo = t.type({ id: t.string, title: t.string, done: t.boolean, version: t.number });
export const Contact = t.type({ id: t.string, name: t.string, email: t.union([t.string, t.null]), version: t.number });
export const Deleted = t.type({ id: t.string, deleted: t.literal(true) });

/** Drop `id` (it travels in the path) from an update's wire body. */
export const withoutId = <T extends { id: string }>(p: T): Omit<T, 'id'> => {
  const { id: _id, ...rest } = p;
  return rest;
};
