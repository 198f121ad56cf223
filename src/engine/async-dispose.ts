/**
 * Give `target` an `[Symbol.asyncDispose]()` that calls `dispose()`, so
 * `await using engine = createSyncEngine(…)` disposes it at the end of the
 * scope. Only where the runtime defines `Symbol.asyncDispose` (Node ≥ 20,
 * current browsers) or the app loaded a polyfill before this call: the
 * global is read, never written, and where it is missing nothing is added
 * (a computed `[undefined]` key would be the string `"undefined"`).
 *
 * @example
 * return withAsyncDispose(Object.assign(engine, { dispose }));
 */
export function withAsyncDispose<T extends { dispose(): Promise<void> }>(
  target: T,
  runtime: { readonly asyncDispose?: symbol } = Symbol,
): T {
  const symbol = runtime.asyncDispose;
  if (typeof symbol !== 'symbol') return target;
  Object.defineProperty(target, symbol, {
    value: (): Promise<void> => target.dispose(),
    configurable: true,
    writable: true,
  });
  return target;
}
