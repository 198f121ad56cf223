import { ValidationError } from '../../src/errors/sync-error';
import { storeNameFor } from '../../src/store/store-name-for';

describe('storeNameFor', () => {
  test.each([
    ['todo-app', 'ada', 'todo-app.616461'],
    ['data/app.db', 'Ada', 'data/app.db.416461'],
    ['app', 'ada@example.org', 'app.616461406578616d706c652e6f7267'],
    ['app', 'Zoë/../x', 'app.5a6fc3ab2f2e2e2f78'],
  ])('storeNameFor(%j, %j) = %j', (base, id, name) => {
    expect(storeNameFor(base, id)).toBe(name);
  });

  test('only [0-9a-f] after the base: distinct ids, distinct names, also on case-insensitive file systems', () => {
    const ids = ['ada', 'Ada', 'ADA', 'a.da', 'a/da', 'ada ', 'ådá'];
    const names = ids.map((id) => storeNameFor('app', id));
    for (const n of names) expect(n).toMatch(/^app\.[0-9a-f]+$/);
    expect(new Set(names.map((n) => n.toLowerCase())).size).toBe(ids.length);
  });

  test.each([
    ['', 'ada'],
    ['app', ''],
    ['app', null],
  ])('refuses base %j, account %j (ValidationError invalidOptions)', (base, id) => {
    expect(() => storeNameFor(base, id as string)).toThrow(ValidationError);
  });
});
