import * as FE from 'fp-ts/Either';
import { pipe as fpPipe } from 'fp-ts/function';
import * as E from '../../src/fp/either';
import { pipe } from '../../src/fp/pipe';

// The engine's Either pieces must stay interchangeable with fp-ts's: io-ts
// hands us fp-ts values, and apps may hand ours to fp-ts.
const inputs: readonly E.Either<string, number>[] = [E.left('bad'), E.right(0), E.right(41)];
const half = (n: number): E.Either<string, number> => (n % 2 === 0 ? E.right(n / 2) : E.left(`odd ${n}`));

describe('fp/either', () => {
  it.each(inputs)('agrees with fp-ts on %j', (x) => {
    expect(E.left('e')).toEqual(FE.left('e'));
    expect(E.right(1)).toEqual(FE.right(1));
    expect(E.isLeft(x)).toBe(FE.isLeft(x));
    expect(E.isRight(x)).toBe(FE.isRight(x));
    expect(pipe(x, E.map((n) => n + 1))).toEqual(fpPipe(x, FE.map((n: number) => n + 1)));
    expect(pipe(x, E.mapLeft((e) => e.length))).toEqual(fpPipe(x, FE.mapLeft((e: string) => e.length)));
    expect(pipe(x, E.chain(half))).toEqual(fpPipe(x, FE.chain(half)));
    expect(pipe(x, E.map((n) => n * 2), E.chain(half), E.mapLeft((e) => `!${e}`))).toEqual(
      fpPipe(x, FE.map((n: number) => n * 2), FE.chain(half), FE.mapLeft((e: string) => `!${e}`)),
    );
  });

  it('pipe with no function is the identity', () => {
    expect(pipe(7)).toBe(7);
  });
});
