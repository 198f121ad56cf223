/**
 * The few `Either` pieces the engine uses, with fp-ts's data shape
 * (`{ _tag: 'Left', left }` / `{ _tag: 'Right', right }`): io-ts's
 * `decode` results are these values, and fp-ts's own functions accept
 * ours. Kept here rather than imported from `fp-ts/Either` so the package
 * needs no fp-ts module at run time (a smaller browser bundle, and an ES
 * module build Node can load: `fp-ts/Either` is a directory import there).
 */

/** A failure carrying `left`. */
export interface Left<E> {
  readonly _tag: 'Left';
  readonly left: E;
}

/** A success carrying `right`. */
export interface Right<A> {
  readonly _tag: 'Right';
  readonly right: A;
}

/**
 * `Left<E> | Right<A>`, interchangeable with fp-ts's `Either`.
 *
 * @example
 * const parsed: Either<string, number> = n > 0 ? right(n) : left('not positive');
 */
export type Either<E, A> = Left<E> | Right<A>;

/**
 * A failure.
 *
 * @example
 * left('record: unexpected shape'); // { _tag: 'Left', left: 'record: unexpected shape' }
 */
export const left = <E = never, A = never>(e: E): Either<E, A> => ({ _tag: 'Left', left: e });

/**
 * A success.
 *
 * @example
 * right(42); // { _tag: 'Right', right: 42 }
 */
export const right = <E = never, A = never>(a: A): Either<E, A> => ({ _tag: 'Right', right: a });

/**
 * True for a failure.
 *
 * @example
 * if (isLeft(result)) return result.left;
 */
export const isLeft = <E, A>(ma: Either<E, A>): ma is Left<E> => ma._tag === 'Left';

/**
 * True for a success.
 *
 * @example
 * if (isRight(result)) use(result.right);
 */
export const isRight = <E, A>(ma: Either<E, A>): ma is Right<A> => ma._tag === 'Right';

/**
 * Transform a success, pass a failure through (pipeable).
 *
 * @example
 * pipe(right(1), map((n) => n + 1)); // right(2)
 */
export const map =
  <A, B>(f: (a: A) => B) =>
  <E>(fa: Either<E, A>): Either<E, B> =>
    isLeft(fa) ? fa : right(f(fa.right));

/**
 * Transform a failure, pass a success through (pipeable).
 *
 * @example
 * pipe(left(errors), mapLeft(formatDecodeErrors));
 */
export const mapLeft =
  <E, G>(f: (e: E) => G) =>
  <A>(fa: Either<E, A>): Either<G, A> =>
    isLeft(fa) ? left(f(fa.left)) : fa;

/**
 * Continue a success with a step that may fail (pipeable; fp-ts's `chain`).
 *
 * @example
 * pipe(decoded, chain((op) => (op.id === key ? right(op) : left('id: does not match'))));
 */
export const chain =
  <E, A, B>(f: (a: A) => Either<E, B>) =>
  (ma: Either<E, A>): Either<E, B> =>
    isLeft(ma) ? ma : f(ma.right);
