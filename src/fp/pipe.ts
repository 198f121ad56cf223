/**
 * `pipe(a, f, g)` = `g(f(a))`, fp-ts's `pipe` for the arities the engine
 * uses (see `either.ts` for why it is not imported from fp-ts).
 *
 * @example
 * pipe(codec.decode(u), mapLeft(formatDecodeErrors), map((op) => op as PendingOp));
 */
export function pipe<A>(a: A): A;
export function pipe<A, B>(a: A, ab: (a: A) => B): B;
export function pipe<A, B, C>(a: A, ab: (a: A) => B, bc: (b: B) => C): C;
export function pipe<A, B, C, D>(a: A, ab: (a: A) => B, bc: (b: B) => C, cd: (c: C) => D): D;
export function pipe(a: unknown, ...fns: readonly ((x: unknown) => unknown)[]): unknown {
  return fns.reduce((acc, f) => f(acc), a);
}
