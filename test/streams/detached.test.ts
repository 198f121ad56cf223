import { marbles } from 'rxjs-marbles/jest';
import { tap } from 'rxjs';
import { detached } from '../../streams/detached';

describe('detached', () => {
  test(
    'the source runs to completion after the subscriber left',
    marbles((m) => {
      const seen: string[] = [];
      const source = m.cold('---a---b|');
      const out = detached(source.pipe(tap((v) => seen.push(`${v}@${m.scheduler.now()}`))));
      m.expect(out, '^-!').toBeObservable('---');
      m.has(source, ['^-------!']);
      m.flush();
      expect(seen).toEqual(['a@3', 'b@7']);
    }),
  );

  test(
    'passes values, completion and errors through while subscribed',
    marbles((m) => {
      m.expect(detached(m.cold('-a-b|'))).toBeObservable('-a-b|');
      m.expect(detached(m.cold('-a-#', undefined, new Error('x')))).toBeObservable('-a-#', undefined, new Error('x'));
    }),
  );
});
