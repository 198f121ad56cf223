import { defaultFetch, setDefaultFetch } from '../../src/api/default-fetch';
import { ValidationError } from '../../src/errors/sync-error';
import type { FetchLike } from '../../src/api/http-transport';

describe('defaultFetch', () => {
  const original = globalThis.fetch;
  afterEach(() => {
    globalThis.fetch = original;
    setDefaultFetch(undefined);
  });

  it('is the platform\'s own fetch, read at call time and called on globalThis (no ponyfill)', async () => {
    const fetchFn = defaultFetch();
    const answer = new Response('ok');
    const seen: unknown[] = [];
    globalThis.fetch = function (this: unknown, ...args: unknown[]) {
      seen.push(this, ...args);
      return Promise.resolve(answer);
    } as typeof fetch;
    await expect(fetchFn('https://api.example.com/x', { method: 'POST' })).resolves.toBe(answer);
    expect(seen).toEqual([globalThis, 'https://api.example.com/x', { method: 'POST' }]);
  });

  it('is the fetch a platform entry registered, until it is unregistered', () => {
    const registered: FetchLike = async () => new Response('');
    setDefaultFetch(registered);
    expect(defaultFetch()).toBe(registered);
    setDefaultFetch(undefined);
    expect(defaultFetch()).not.toBe(registered);
  });

  it('refuses, typed, where the platform has no fetch and none is registered', () => {
    (globalThis as { fetch?: unknown }).fetch = undefined;
    expect(() => defaultFetch()).toThrow(ValidationError);
  });
});
