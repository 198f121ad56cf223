/**
 * Exact type equality for type tests (`test/types/*.types.ts`): `true` only
 * when `A` and `B` are the same type (not merely assignable; `any` equals
 * only `any`).
 *
 * @example
 * expectType<Equal<typeof r.data, Todo | undefined>>(true);
 */
export type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

/**
 * Compile-time assertion: `expectType<Equal<X, Y>>(true)` fails to compile
 * unless `X` and `Y` are equal. Does nothing at run time.
 *
 * @example
 * expectType<Equal<PayloadOf<Routes['todo.create']>, NewTodo>>(true);
 */
export function expectType<T extends true>(_proof: T): void {
  // Type-level only.
}
