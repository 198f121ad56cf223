import { withAsyncDispose } from '../../src/engine/async-dispose';

describe('withAsyncDispose', () => {
  test('adds [Symbol.asyncDispose]() calling dispose()', async () => {
    const dispose = jest.fn(() => Promise.resolve());
    const target = withAsyncDispose({ dispose });
    await (target as unknown as AsyncDisposable)[Symbol.asyncDispose]();
    expect(dispose).toHaveBeenCalledTimes(1);
  });

  test('where the runtime has no Symbol.asyncDispose it adds nothing (no "undefined" key)', () => {
    const target = withAsyncDispose({ dispose: () => Promise.resolve() }, {});
    expect(Reflect.ownKeys(target)).toEqual(['dispose']);
  });

  test('uses whatever symbol the runtime (or a polyfill loaded first) defines', async () => {
    const polyfilled = Symbol('Symbol.asyncDispose');
    const dispose = jest.fn(() => Promise.resolve());
    const target = withAsyncDispose({ dispose }, { asyncDispose: polyfilled }) as unknown as Record<symbol, () => Promise<void>>;
    await target[polyfilled]!();
    expect(dispose).toHaveBeenCalledTimes(1);
  });
});
