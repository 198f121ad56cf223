import { marbles } from 'rxjs-marbles/jest';
import { createRequestSlots } from '../../streams/request-slots';

describe('createRequestSlots', () => {
  test(
    'at most `limit` requests subscribed at once, granted in the order asked; a slot frees on complete, error and unsubscribe',
    marbles((m) => {
      const slots = createRequestSlots(2);
      const a = m.cold('-----a|');
      const b = m.cold('--#');
      const c = m.cold('---c|');
      const d = m.cold('-d|');
      m.expect(slots.run(a)).toBeObservable('-----a|');
      m.expect(slots.run(b)).toBeObservable('--#');
      m.expect(slots.run(c)).toBeObservable('-----c|');
      m.expect(slots.run(d)).toBeObservable('-------d|');
      m.expect(a).toHaveSubscriptions('^-----!');
      m.expect(b).toHaveSubscriptions('^-!');
      m.expect(c).toHaveSubscriptions('--^---!');
      m.expect(d).toHaveSubscriptions('------^-!');
    }),
  );

  test(
    'leaving while waiting gives up the place in line; leaving while granted frees the slot',
    marbles((m) => {
      const slots = createRequestSlots(1);
      const a = m.cold('-----a|');
      const b = m.cold('-b|');
      const c = m.cold('-c|');
      m.expect(slots.run(a), '^--!').toBeObservable('---');
      m.expect(slots.run(b), '^-!').toBeObservable('--');
      m.expect(slots.run(c)).toBeObservable('----c|');
      m.expect(a).toHaveSubscriptions('^--!');
      m.expect(b).toHaveSubscriptions([]);
      m.expect(c).toHaveSubscriptions('---^-!');
    }),
  );

  test(
    'free counts slots nobody holds or waits for; freed$ emits when a slot is released with nobody waiting',
    marbles((m) => {
      const slots = createRequestSlots(2);
      const freeAt: number[] = [];
      const frees: number[] = [];
      slots.freed$.subscribe(() => freeAt.push(m.scheduler.now()));
      m.expect(slots.run(m.cold('-----a|'))).toBeObservable('-----a|');
      m.expect(slots.run(m.cold('--b|'))).toBeObservable('--b|');
      m.expect(slots.run(m.cold('---c--|'))).toBeObservable('------c--|');
      for (const t of [1, 4, 7, 10]) m.scheduler.schedule(() => frees.push(slots.free), t);
      m.flush();
      // a and b hold both slots, c waits; b's slot goes to c (no freed$); a, then c free theirs.
      expect(frees).toEqual([0, 0, 1, 2]);
      expect(freeAt).toEqual([6, 9]);
    }),
  );
});
