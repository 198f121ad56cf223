/**
 * The demo app's operation types and their HTTP routes: shared by the Node
 * demo (`npm start`) and the browser demo (`npm run demo:web`), so it holds
 * nothing but codecs (no Node built-ins: it is bundled for the page).
 */
import { defineRoutes } from '../src/router/op-router';
import { ById, Contact, ContactCreate, ContactUpdate, Deleted, Todo, TodoCreate, TodoUpdate, withoutId } from './codecs';

// Ordered per entity (used with `concurrency` or `batch`): the create,
// updates and delete of one todo or contact go out in enqueue order.
const todoKey = (p: { readonly id: string }): string => `todo:${p.id}`;
const contactKey = (p: { readonly id: string }): string => `contact:${p.id}`;

/** The demo app's operation types and their HTTP routes. */
export const demoRoutes = defineRoutes({
  'todo.create': { method: 'POST', path: '/todos', payload: TodoCreate, response: Todo, orderKey: todoKey },
  'todo.update': { method: 'PATCH', path: '/todos/:id', payload: TodoUpdate, response: Todo, toWire: withoutId, orderKey: todoKey },
  'todo.delete': { method: 'DELETE', path: '/todos/:id', payload: ById, response: Deleted, toWire: () => undefined, orderKey: todoKey },
  'contact.create': { method: 'POST', path: '/contacts', payload: ContactCreate, response: Contact, orderKey: contactKey },
  'contact.update': { method: 'PATCH', path: '/contacts/:id', payload: ContactUpdate, response: Contact, toWire: withoutId, orderKey: contactKey },
  'contact.delete': { method: 'DELETE', path: '/contacts/:id', payload: ById, response: Deleted, toWire: () => undefined, orderKey: contactKey },
});
